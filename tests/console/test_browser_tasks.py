"""The waiting-tasks page in real headless Chromium against a real server: list, sort, report (confirmed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.console.conftest import KEY, sign_in
from tests.server import ServerProcess
from tests.waiting import wait_until
from tidegate.mq.client import MnsClient

NS = 'xmlns="http://mns.aliyuncs.com/doc/v1/"'

FLOW = """version: v1
type: flow
steps:
  - type: task
    name: approve
    resourceArn: acs:mns:::/queues/approvals/messages
    pattern: waitForCallback
    heartbeatSeconds: 3600
    inputMappings:
      - {target: token, source: $context.task.token}
    serviceParams:
      MessageBody: $
"""


def _waiting(rest: httpx.Client, names: list[str]) -> list[dict[str, Any]]:
    def listed() -> list[dict[str, Any]] | None:
        tasks = rest.get("/tasks", params={"flow": "approvals"}).json()["tasks"]
        return tasks if sorted(t["execution_name"] for t in tasks) == sorted(names) else None

    return wait_until(listed, message=f"{names} waiting")


def test_waiting_tasks_page_lists_sorts_and_completes_a_task(
    server: ServerProcess, rest: httpx.Client, page: Any, shots: Path
) -> None:
    mns = MnsClient(server.url, *KEY)
    try:
        mns.request("PUT", "/queues/approvals", body=f"<Queue {NS}></Queue>".encode())
    finally:
        mns.close()
    assert rest.post("/flows", json={"name": "approvals", "definition": FLOW}).status_code == 201
    for name in ("first", "second"):
        assert rest.post("/flows/approvals/executions", json={"name": name, "input": {"n": name}}).status_code == 201
    tasks = _waiting(rest, ["first", "second"])
    first = next(t for t in tasks if t["execution_name"] == "first")

    sign_in(page)
    page.click("#nav a[data-section=tasks]")
    page.wait_for_selector("h1:has-text('Waiting tasks')")
    rows = page.locator("#waiting-tasks tbody tr")
    rows.first.wait_for()
    assert [r.split("/")[1] for r in rows.evaluate_all("rs => rs.map(r => r.dataset.task)")] == ["first", "second"]
    assert "approve" in rows.first.inner_text() and "/queues/approvals/messages" in rows.first.inner_text()
    page.click("#sort-age")
    page.wait_for_function("location.hash.includes('sort=-age')")
    page.wait_for_selector("#sort-age:has-text('newest first')")
    assert [r.split("/")[1] for r in rows.evaluate_all("rs => rs.map(r => r.dataset.task)")] == ["second", "first"]

    row = page.locator(f"tr[data-task='approvals/first/{first['task']}']")
    row.locator("button[data-report=succeeded]").click()
    page.wait_for_selector("#report-form[data-kind=succeeded]")
    assert rest.get("/flows/approvals/executions/first").json()["status"] == "Running"  # nothing sent yet
    page.fill("#report-output", "not json")
    page.click("#report-confirm")
    page.wait_for_selector("#report-form .error:has-text('not JSON')")
    page.fill("#report-output", '{"approved": true}')
    page.screenshot(path=str(shots / "waiting-tasks.png"), full_page=True)
    page.click("#report-confirm")
    page.wait_for_selector("#report-done")
    done = rest.get("/flows/approvals/executions/first", params={"wait": 10}).json()
    assert (done["status"], done["output"]) == ("Succeeded", {"approved": True})
    page.wait_for_selector(f"tr[data-task='approvals/first/{first['task']}']", state="detached")

    second = page.locator("tr[data-task^='approvals/second/']")
    second.locator("button[data-report=failed]").click()
    page.click("#report-cancel")  # changed their mind: nothing is sent
    page.wait_for_selector("#report-form", state="detached")
    second.locator("button[data-report=failed]").click()
    page.fill("#report-error", "Rejected")
    page.fill("#report-cause", "not this one")
    page.click("#report-confirm")
    page.wait_for_selector("#report-done")
    failed = rest.get("/flows/approvals/executions/second", params={"wait": 10}).json()
    assert (failed["status"], failed["error"], failed["cause"]) == ("Failed", "Rejected", "not this one")
    page.wait_for_selector("#no-tasks")
