"""Fixtures of the console's browser tests: one real server and one headless Debian Chromium per module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server import TEST_KEYS, ServerProcess

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
KEY = (TEST_KEYS["TIDEGATE_ACCESS_KEY_ID"], TEST_KEYS["TIDEGATE_ACCESS_KEY_SECRET"])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A real ``tidegate server`` on a fresh SQLite data folder."""
    srv = ServerProcess(tmp_path_factory.mktemp("console-server"), env=TEST_KEYS)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def rest(server: ServerProcess) -> Iterator[httpx.Client]:
    """The REST API of the server, authenticated with the root key."""
    with httpx.Client(base_url=server.url + "/api/v1", auth=KEY, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/ensure-chromium.sh")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser: Any, server: ServerProcess) -> Iterator[Any]:
    """A fresh 1280x800 page (own cookies) with the console open and not signed in."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    p = context.new_page()
    p.set_default_timeout(15_000)
    p.goto(server.url + "/console/")
    yield p
    context.close()


@pytest.fixture()
def shots(tmp_path: Path) -> Path:
    """The test's screenshot folder (under its pytest output folder)."""
    folder = tmp_path / "screenshots"
    folder.mkdir()
    return folder


def sign_in(page: Any) -> None:
    """Fill in the sign-in form with the server's root key and wait for the flows page."""
    page.fill("#signin-id", KEY[0])
    page.fill("#signin-secret", KEY[1])
    page.press("#signin-secret", "Enter")
    page.wait_for_selector("#nav:not([hidden])")
    page.wait_for_selector("h1:has-text('Flows')")
