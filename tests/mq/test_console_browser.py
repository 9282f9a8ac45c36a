"""The console's queue and topic pages show what was set aside, in real headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.console.conftest import KEY, browser, page, shots, sign_in  # noqa: F401  (fixtures)
from tests.mq.helpers import poison_message, push_test_server, root_client
from tests.server import ServerProcess
from tests.waiting import wait_until
from tidegate.mq.client import MnsClient, MnsClientError, fields
from tidegate.mq.queues import QueueService
from tidegate.mq.wire import (
    MessageRequest,
    QueueAttributes,
    SubscriptionAttributes,
    TopicAttributes,
    encode_message,
    encode_queue_attributes,
    encode_subscription,
    encode_topic_attributes,
)
from tidegate.store import open_store


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    yield from push_test_server(tmp_path_factory.mktemp("mq-console") / "data")


@pytest.fixture
def mns(server: ServerProcess) -> Iterator[MnsClient]:
    yield from root_client(server)


def test_queue_page_lists_quarantined_messages_and_deletes_them(
    server: ServerProcess,
    mns: MnsClient,
    page: Any,  # noqa: F811
    shots: Path,  # noqa: F811
) -> None:
    mns.request("PUT", "/queues/jobs", body=encode_queue_attributes(QueueAttributes()))
    store = open_store(f"sqlite:///{(server.data_dir / 'tidegate.db').resolve()}")
    try:
        bad = poison_message(QueueService(store.database), "jobs", "job\u0001")
    finally:
        store.close()
    with pytest.raises(MnsClientError, match="MessageNotExist"):  # the receive sets it aside
        mns.request("GET", "/queues/jobs/messages", query="waitseconds=0")
    sign_in(page)
    page.goto(page.url.split("#")[0] + "#/queues/jobs")
    page.wait_for_selector("#queue-counts dd[data-count=quarantined]:has-text('1')")
    row = page.wait_for_selector(f"tr[data-quarantined='{bad}']")
    assert "U+0001 at position 3" in row.inner_text()
    page.screenshot(path=str(shots / "queue-quarantine.png"), full_page=True)
    page.click(f"tr[data-quarantined='{bad}'] button:has-text('Delete')")
    page.wait_for_selector("#queue-counts dd[data-count=quarantined]:has-text('0')")
    assert page.locator("tr[data-quarantined]").count() == 0


def test_topic_page_shows_failed_pushes(
    server: ServerProcess,
    mns: MnsClient,
    page: Any,  # noqa: F811
    shots: Path,  # noqa: F811
) -> None:
    mns.request("PUT", "/topics/alerts", body=encode_topic_attributes(TopicAttributes()))
    sub = SubscriptionAttributes(endpoint="http://127.0.0.1:1/nobody")
    mns.request("PUT", "/topics/alerts/subscriptions/gone", body=encode_subscription(sub))
    mns.request("POST", "/topics/alerts/messages", body=encode_message(MessageRequest(body="fire")))
    # Connection refused four times (BACKOFF_RETRY): nothing left to push once it failed for good.
    wait_until(
        lambda: fields(mns.request("GET", "/topics/alerts").xml())["MessageCount"] == "0", message="no message left"
    )
    sign_in(page)
    page.goto(page.url.split("#")[0] + "#/topics/alerts")
    page.wait_for_selector("tr[data-subscription=gone] td[data-failed='1']")
    assert "connection refused" in page.inner_text("tr[data-subscription=gone]")
    page.wait_for_selector("h2:has-text('Failed pushes')")
    assert page.locator("td:has-text('connection refused')").count() == 2  # the subscription and its push
    page.screenshot(path=str(shots / "topic-failed.png"), full_page=True)
