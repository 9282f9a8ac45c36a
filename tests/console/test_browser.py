"""The console in real headless Chromium against a real server.

The two examples are deployed as a user deploys them: ``tidegate deploy examples`` against the running
server (the function's SDK is pip-installed by the server; the first deploy takes a few seconds). The topic
example then runs for real when started from the console: its task publishes the token to
``fnf-demo-topic``, the server pushes it to the WSGI function's HTTP trigger and the function reports the
task with its temporary credentials. The push goes through a :class:`~tests.console.gate.Gate` (the
server's ``TIDEGATE_PUBLIC_URL``), which holds it while the page shows the task waiting: the example
finishes faster than a page could otherwise show it running.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REPO
from tests.console.conftest import KEY, sign_in
from tests.console.flows import MIXED, SLOW
from tests.console.gate import Gate, Passage
from tests.server import TEST_KEYS, ServerProcess, free_port
from tests.waiting import wait_until
from tidegate.status import ExecutionStatus

TRIGGER = "/2016-08-15/proxy/fnf-demo/callback/"  # the example function's HTTP trigger
DEPLOY_TIMEOUT_S = 300  # the first deploy on a machine pip-installs the function's SDK (cached afterwards)


def create_flow(rest: httpx.Client, name: str, definition: str) -> None:
    r = rest.post("/flows", json={"name": name, "definition": definition})
    assert r.status_code in (201, 409), r.text


@pytest.fixture(scope="module")
def port() -> int:
    """The server's port (the gate forwards to it, so it is chosen before either starts)."""
    return free_port()


@pytest.fixture(scope="module")
def gate(port: int) -> Iterator[Gate]:
    """The gate the server announces as its public URL (so topic pushes to functions pass through it)."""
    g = Gate(f"http://127.0.0.1:{port}")
    g.start()
    yield g
    g.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, port: int, gate: Gate) -> Iterator[ServerProcess]:
    """A real ``tidegate server`` whose announced URL (trigger URLs in deploy files) is the gate's."""
    env = {**TEST_KEYS, "TIDEGATE_PUBLIC_URL": gate.url}
    srv = ServerProcess(tmp_path_factory.mktemp("console-server"), env=env, port=port)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def examples(server: ServerProcess) -> str:
    """``tidegate deploy examples`` against the server, as a user deploys the two examples; its output."""
    cmd = [sys.executable, "-c", "from tidegate.cli import main; main()", "deploy", "--endpoint", server.url]
    env = {**os.environ, **TEST_KEYS}
    done = subprocess.run(
        [*cmd, str(REPO / "examples")], env=env, capture_output=True, text=True, timeout=DEPLOY_TIMEOUT_S
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for line in ("function fnf-demo/callback", "subscription fnf-demo-topic/callback", "flow mns-topic-callback"):
        assert any(row.split() == ["created", *line.split()] for row in done.stdout.splitlines()), done.stdout
    return done.stdout


def test_refused_without_sign_in(server: ServerProcess, page: Any, shots: Path) -> None:
    assert httpx.get(server.url + "/console/api/flows").status_code == 401
    assert httpx.post(server.url + "/console/api/queues/x/messages", json={"body": "x"}).status_code == 401
    root = httpx.get(server.url + "/", follow_redirects=False)
    assert root.status_code == 307 and root.headers["location"] == "/console/"
    page.goto(server.url + "/console/#/flows")
    page.wait_for_selector("#signin:not([hidden])")
    assert page.is_hidden("#nav") and page.inner_text("#view") == ""
    page.fill("#signin-id", KEY[0])
    page.fill("#signin-secret", "wrong-secret")
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#signin-error:has-text('wrong')")
    page.screenshot(path=str(shots / "refused.png"))


def test_sign_in_lists_the_examples_and_draws_them(page: Any, examples: str, shots: Path) -> None:
    sign_in(page)
    cookie = next(c for c in page.context.cookies() if c["name"] == "tidegate_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    page.wait_for_selector("a:has-text('mns-queue-callback')")
    page.fill("#flow-search", "topic")
    page.press("#flow-search", "Enter")
    page.wait_for_function("!document.querySelector('#flow-results').innerText.includes('mns-queue-callback')")
    page.click("a:has-text('mns-topic-callback')")
    page.wait_for_selector("svg.graph g.node[data-step='mns-topic-task']")
    assert "null" not in page.inner_text("#view")
    assert page.locator("svg.graph [data-terminal=Start]").count() == 1
    assert page.locator("svg.graph [data-terminal=End]").count() == 1
    assert page.locator("pre.code .y-key", has_text="resourceArn").count() == 1  # highlighted definition
    page.screenshot(path=str(shots / "flow-1280x800.png"), full_page=True)
    page.set_viewport_size({"width": 420, "height": 800})
    scroll_w = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_w <= 440, f"page overflows a 420 px window: {scroll_w}"
    page.screenshot(path=str(shots / "flow-420.png"), full_page=True)


def test_start_topic_example_and_watch_it_succeed(page: Any, examples: str, gate: Gate, shots: Path) -> None:
    sign_in(page)
    page.goto(page.url.split("#")[0] + "#/flows/mns-topic-callback")
    page.click("#start-open")
    page.fill("#start-input", '{"messageBody": ')
    page.wait_for_selector("#start-msg.error")
    assert page.is_disabled("#start-submit")  # invalid JSON is never sent
    page.fill("#start-input", "[1, 2]")
    page.wait_for_selector("#start-msg:has-text('JSON object')")
    assert page.is_disabled("#start-submit")
    page.fill("#start-name", "from-console")
    page.fill("#start-input", '{"messageBody": "hello"}')
    node = "svg.graph g.node[data-step='mns-topic-task']"

    def pushes(passages: list[Passage]) -> list[Passage]:
        return [p for p in passages if p.method == "POST" and p.path == TRIGGER]

    with gate.held():  # the real push waits at the gate while the page shows the execution running
        page.click("#start-submit")
        page.wait_for_selector(f"{node}[data-status=waiting]")
        page.wait_for_selector(".exec-head .badge[data-status=Running]")
        gate.wait_for(lambda passages: len(pushes(passages)) == 1)  # the topic pushed to the function
        page.screenshot(path=str(shots / "topic-running.png"), full_page=True)
    page.wait_for_selector(f"{node}[data-status=succeeded]")
    page.wait_for_selector(".exec-head .badge[data-status=Succeeded]")
    assert '"status": "success"' in page.inner_text("#exec-output")  # the function's ReportTaskSucceeded
    # The function answered the push 200, which it does only after its report was accepted.
    assert pushes(gate.wait_for(lambda ps: pushes(ps)[0].status is not None))[0].status == 200
    page.click(node)
    page.wait_for_selector("#step-panel summary:has-text('token done')")
    assert page.locator("#history-table tbody tr").count() >= 6
    page.screenshot(path=str(shots / "topic-succeeded.png"), full_page=True)


def test_failed_execution_marks_the_failing_step(page: Any, rest: httpx.Client, shots: Path) -> None:
    create_flow(rest, "mixed", MIXED)
    r = rest.post("/flows/mixed/executions", json={"name": "bad", "input": {"kind": "b", "items": [1, 2, 3]}})
    assert r.status_code == 201
    wait_until(lambda: rest.get("/flows/mixed/executions/bad").json()["status"] == "Failed", message="bad to fail")
    sign_in(page)
    page.goto(page.url.split("#")[0] + "#/flows/mixed/executions/bad")
    boom = page.wait_for_selector("svg.graph g.node[data-step=boom][data-status=failed]")
    assert "Bad.Item" in boom.text_content()
    for step, status in (("fan", "failed"), ("each", "failed"), ("left", "succeeded"), ("never", "not-reached")):
        assert page.get_attribute(f"svg.graph g.node[data-step={step}]", "data-status") == status
    assert page.locator("svg.graph path.goto[data-goto=fan]").count() == 1  # choice default's goto edge
    page.click("svg.graph g.node[data-step=boom]")
    page.wait_for_selector("#step-panel .error:has-text('item 2 is not allowed')")
    page.screenshot(path=str(shots / "failed.png"), full_page=True)


def test_stop_a_running_execution(page: Any, rest: httpx.Client, shots: Path) -> None:
    create_flow(rest, "slow", SLOW)
    assert rest.post("/flows/slow/executions", json={"name": "s1"}).status_code == 201
    sign_in(page)
    page.goto(page.url.split("#")[0] + "#/flows/slow/executions/s1")
    page.wait_for_selector("svg.graph g.node[data-step=nap][data-status=running]")
    page.fill("#stop-error", "Stop.ByConsole")
    page.fill("#stop-cause", "no need to wait")
    page.click("#stop-submit")
    page.wait_for_selector(".exec-head .badge[data-status=Stopped]")
    page.wait_for_selector("svg.graph g.node[data-step=nap][data-status=cancelled]")
    doc = rest.get("/flows/slow/executions/s1").json()
    assert (doc["status"], doc["error"], doc["cause"]) == ("Stopped", "Stop.ByConsole", "no need to wait")
    page.screenshot(path=str(shots / "stopped.png"), full_page=True)


def test_keyboard_navigation(page: Any, examples: str, rest: httpx.Client, shots: Path) -> None:
    sign_in(page)
    create_flow(rest, "mixed", MIXED)
    page.goto(page.url.split("#")[0] + "#/flows/mixed")
    page.wait_for_selector("svg.graph g.node")
    page.focus("svg.graph g.node[data-step=route]")
    outline = page.evaluate("getComputedStyle(document.activeElement.querySelector('.shape')).strokeWidth")
    assert outline == "3px"  # visible focus on graph nodes
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('data-step')") == "chose-a"
    page.focus("a.skip")  # the first stop of the page's tab order
    for _ in range(3):  # brand, Flows, Queues
        page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "Queues"
    page.keyboard.press("Enter")
    page.wait_for_selector("h1:has-text('Queues')")
    page.screenshot(path=str(shots / "keyboard.png"))


def test_the_status_filter_offers_every_status(page: Any, rest: httpx.Client) -> None:
    sign_in(page)
    create_flow(rest, "mixed", MIXED)
    page.goto(page.url.split("#")[0] + "#/flows/mixed")
    page.wait_for_selector("#f-status option[value=TimedOut]", state="attached")
    options = page.eval_on_selector_all("#f-status option", "(os) => os.map((o) => o.value)")
    assert options == ["", *(s.value for s in ExecutionStatus)]
