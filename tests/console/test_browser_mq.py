"""Queue, topic and schedule pages in real headless Chromium against a real server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.console.conftest import KEY, sign_in
from tests.console.flows import SLOW
from tests.server import ServerProcess
from tidegate.mq.client import MnsClient

NS = 'xmlns="http://mns.aliyuncs.com/doc/v1/"'


def mns_setup(server: ServerProcess) -> None:
    mns = MnsClient(server.url, *KEY)
    try:
        mns.request("PUT", "/queues/orders", body=f"<Queue {NS}></Queue>".encode())
        mns.request("PUT", "/queues/audit", body=f"<Queue {NS}></Queue>".encode())
        mns.request("PUT", "/topics/events", body=f"<Topic {NS}></Topic>".encode())
        endpoint = "acs:mns:cn-hangzhou:1234567890123456:queues/audit"
        sub = f"<Subscription {NS}><Endpoint>{endpoint}</Endpoint></Subscription>"
        mns.request("PUT", "/topics/events/subscriptions/to-audit", body=sub.encode())
    finally:
        mns.close()


def test_queue_page_counts_peek_and_send(server: ServerProcess, page: Any, shots: Path) -> None:
    mns_setup(server)
    sign_in(page)
    page.goto(page.url.split("#")[0] + "#/queues")
    page.wait_for_selector("tr[data-queue=orders]")
    page.click("a:has-text('orders')")
    page.wait_for_selector("#queue-counts")
    page.fill("#send-body", "order 42")
    page.click("#send-form button[type=submit]")
    page.wait_for_selector("#send-form .ok:has-text('Sent')")
    page.wait_for_selector("#queue-counts dd[data-count=active]:has-text('1')")
    page.wait_for_selector("td pre.body:has-text('order 42')")  # peeked
    page.fill("#send-body", "later")
    page.fill("#send-delay", "600")
    page.click("#send-form button[type=submit]")
    page.wait_for_selector("#queue-counts dd[data-count=delayed]:has-text('1')")
    assert page.inner_text("#queue-counts dd[data-count=active]") == "1"  # peeking changed nothing
    page.screenshot(path=str(shots / "queue.png"), full_page=True)


def test_topic_page_subscriptions_and_publish(server: ServerProcess, page: Any, shots: Path) -> None:
    mns_setup(server)
    sign_in(page)
    page.goto(page.url.split("#")[0] + "#/topics/events")
    row = page.wait_for_selector("tr[data-subscription=to-audit]")
    assert "queues/audit" in row.inner_text()
    assert page.get_attribute("tr[data-subscription=to-audit] [data-delivery]", "data-delivery") == "idle"
    page.fill("#publish-body", "shipped")
    page.click("#publish-form button[type=submit]")
    page.wait_for_selector("#publish-form .ok:has-text('Published')")
    # The push worker delivers to the subscribed queue: the console shows it there.
    page.goto(page.url.split("#")[0] + "#/queues/audit")
    page.wait_for_selector("td pre.body:has-text('shipped')", timeout=20_000)
    page.screenshot(path=str(shots / "topic.png"), full_page=True)


def test_schedules_page_next_fires_and_toggle(server: ServerProcess, page: Any, shots: Path) -> None:
    with httpx.Client(base_url=server.url + "/api/v1", auth=KEY) as rest:
        assert rest.post("/flows", json={"name": "nightly", "definition": SLOW}).status_code in (201, 409)
        r = rest.post("/flows/nightly/schedules", json={"name": "every-hour", "cron": "0 0 * * * *", "enable": False})
        assert r.status_code in (201, 409)
        sign_in(page)
        page.goto(page.url.split("#")[0] + "#/schedules")
        row = "tr[data-row='nightly/every-hour']"
        page.wait_for_selector(f"{row} td:has-text('disabled')")
        page.click(f"{row} button:has-text('Enable')")
        page.wait_for_selector(f"{row} td:has-text('enabled')")
        assert page.locator(f"{row} li").count() == 3  # the next three fire times
        assert rest.get("/flows/nightly/schedules/every-hour").json()["enable"] is True
        page.screenshot(path=str(shots / "schedules.png"), full_page=True)
        page.click(f"{row} button:has-text('Disable')")
        page.wait_for_selector(f"{row} td:has-text('disabled')")
        assert rest.get("/flows/nightly/schedules/every-hour").json()["enable"] is False
