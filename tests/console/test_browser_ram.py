"""The console in headless Chromium as a read-only RAM user: what it may not do is not offered, and the API
refuses it anyway (403). The user (AliyunFnFReadOnlyAccess + AliyunMNSReadOnlyAccess) is created with
RamService on the server's store."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.console.conftest import KEY
from tests.console.flows import SLOW
from tests.inprocess import TEST_ROOT
from tests.server import TEST_KEYS, ServerProcess
from tidegate.auth.keys import KeyRing
from tidegate.names import DEFAULT_ACCOUNT_ID
from tidegate.ram.model import EntityType
from tidegate.ram.service import RamService
from tidegate.store import open_store


@dataclass(frozen=True)
class ReadOnly:
    """The server and its read-only user's AccessKey."""

    server: ServerProcess
    key: tuple[str, str]


@pytest.fixture(scope="module")
def read_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReadOnly]:
    base = tmp_path_factory.mktemp("console-ram")
    url = f"sqlite:///{base / 'store.db'}"
    server = ServerProcess(base / "data", env=TEST_KEYS, args=["--store", url])
    server.start()
    store = open_store(url)
    try:
        ram = RamService(store, KeyRing(TEST_ROOT), account_id=DEFAULT_ACCOUNT_ID)
        ram.create_user("viewer")
        for policy in ("AliyunFnFReadOnlyAccess", "AliyunMNSReadOnlyAccess"):
            ram.attach_policy(EntityType.USER, "viewer", "System", policy)
        key = ram.create_access_key("viewer")
        with httpx.Client(base_url=server.url + "/api/v1", auth=KEY, timeout=30) as rest:
            assert rest.post("/flows", json={"name": "slow", "definition": SLOW}).status_code == 201
            assert rest.post("/flows/slow/executions", json={"name": "s1"}).status_code == 201
        yield ReadOnly(server, (key.key_id, key.secret or ""))
    finally:
        store.close()
        server.stop()


def _sign_in(page: Any, key: tuple[str, str]) -> None:
    page.fill("#signin-id", key[0])
    page.fill("#signin-secret", key[1])
    page.press("#signin-secret", "Enter")
    page.wait_for_selector("#nav:not([hidden])")
    page.wait_for_selector("h1:has-text('Flows')")


@pytest.fixture()
def ro_page(browser: Any, read_only: ReadOnly) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    p = context.new_page()
    p.set_default_timeout(15_000)
    p.goto(read_only.server.url + "/console/")
    yield p
    context.close()


def test_read_only_user_sees_no_start_or_stop(ro_page: Any, read_only: ReadOnly, shots: Path) -> None:
    page = ro_page
    _sign_in(page, read_only.key)
    base = page.url.split("#")[0]
    page.goto(base + "#/flows/slow")
    page.wait_for_selector("#view[data-gated] h1:has-text('slow')")
    assert page.locator("#start-open").is_hidden()
    page.goto(base + "#/flows/slow/executions/s1")
    page.wait_for_selector("svg.graph g.node[data-step=nap][data-status=running]")
    page.wait_for_selector(".exec-head[data-gated]")
    assert page.locator("form.stop").is_hidden() and page.locator("#start-new").is_hidden()
    page.screenshot(path=str(shots / "read-only-execution.png"), full_page=True)

    # The API refuses them anyway, with the session's own CSRF token.
    csrf = page.evaluate("Api.session.csrf")
    refused: list[tuple[str, dict[str, Any]]] = [
        ("/flows/slow/executions", {"input": {}}),
        ("/flows/slow/executions/s1/stop", {}),
    ]
    for path, body in refused:
        status = page.evaluate(
            """async ([path, body, csrf]) => (await fetch("/console/api" + path, {method: "POST",
                 headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
                 body: JSON.stringify(body)})).status""",
            [path, body, csrf],
        )
        assert status == 403, path
    with httpx.Client(base_url=read_only.server.url + "/api/v1", auth=KEY, timeout=30) as rest:
        assert rest.get("/flows/slow/executions/s1").json()["status"] == "Running"


def test_root_still_sees_start_and_stop(page: Any, read_only: ReadOnly) -> None:
    page.goto(read_only.server.url + "/console/")
    _sign_in(page, KEY)
    base = page.url.split("#")[0]
    page.goto(base + "#/flows/slow/executions/s1")
    page.wait_for_selector(".exec-head[data-gated]")
    assert page.locator("#stop-submit").is_visible() and page.locator("#start-new").is_visible()
