"""A function's output, stack and request id, as a real server keeps them: in the history (official SDKs,
REST API, ``tidegate exec history``), in ``X-Fc-Log-Result`` of HTTP triggers, and one server log line per
failed invocation."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.api.sdk import run_scenario
from tests.cli.helpers import tidegate
from tests.server import TEST_KEYS, ServerProcess
from tidegate.functions import LOG_TAIL_BYTES

BOOM = """
import logging, sys

class BoomError(Exception):
    pass

def handler(event, context):
    print("boom printed", context.request_id)
    print("\\x1b[31mred on a terminal\\x1b[0m", file=sys.stderr)
    logging.getLogger().warning("about to raise")
    raise BoomError("the boom cause")
"""

# 1500 lines of 98 bytes and the last line: far more than the 32 KiB of step data an execution may hold.
CHATTY = """
def handler(event, context):
    for i in range(1500):
        print("chatty line %04d " % i + "c" * 80)
    print("CHATTY END")
    return {"chatty": True}
"""
CHATTY_BYTES = 1500 * 98 + len("CHATTY END\n")

FLOW = """version: v1
type: flow
steps:
  - type: task
    name: talk
    resourceArn: acs:fc:::services/svc/functions/chatty
  - type: task
    name: explode
    resourceArn: acs:fc:::services/svc/functions/boom
"""

WEB = """
import sys

def handler(environ, start_response):
    path = environ["PATH_INFO"]
    print("web printed", path)
    if path == "/fail":
        raise RuntimeError("web failed")
    if path == "/huge":
        for i in range(1000):
            print("web line %04d " % i + "w" * 60, file=sys.stderr)
        print("WEB END")
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-Fc-Log-Result", "c3Bvb2Y="),
                              ("X-Fc-Request-Id", "spoofed")])
    return [b"hello"]
"""

AUTH = (TEST_KEYS["TIDEGATE_ACCESS_KEY_ID"], TEST_KEYS["TIDEGATE_ACCESS_KEY_SECRET"])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    base = tmp_path_factory.mktemp("fnlogs")
    (base / "functions" / "svc").mkdir(parents=True)
    (base / "functions" / "svc" / "boom.py").write_text(BOOM)
    (base / "functions" / "svc" / "chatty.py").write_text(CHATTY)
    (base / "web").mkdir()
    (base / "web" / "index.py").write_text(WEB)
    srv = ServerProcess(base / "data", env=TEST_KEYS, args=["--functions", str(base / "functions")])
    srv.start()
    with httpx.Client(base_url=srv.url + "/api/v1", auth=AUTH, timeout=60) as api:
        put = api.put(
            "/functions/web/page",
            json={"code_dir": str(base / "web"), "kind": "http", "http_trigger": {"methods": ["GET"]}},
        )
        assert put.status_code == 201, put.text
        assert api.post("/flows", json={"name": "fnlogs", "definition": FLOW}).status_code == 201
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url + "/api/v1", auth=AUTH, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def finished(api: httpx.Client) -> str:
    """The name of an execution of ``fnlogs`` that has ended (Failed, in the boom step)."""
    assert api.post("/flows/fnlogs/executions", json={"name": "rest1"}).status_code == 201
    doc = api.get("/flows/fnlogs/executions/rest1", params={"wait": 30}).json()
    assert doc["status"] == "Failed", doc
    return "rest1"


def _by_type(events: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    """The detail of the one event of type ``kind`` in a REST history page."""
    (found,) = [e["detail"] for e in events if e["type"] == kind]
    assert isinstance(found, dict)
    return found


def _check_failed(detail: dict[str, Any]) -> None:
    """A failed boom invocation's TaskFailed detail: error, cause, stack, output and request id."""
    assert detail["error"] == "BoomError" and detail["cause"] == "the boom cause"
    request_id = detail["requestId"]
    assert len(request_id) == 36
    assert any("boom.py" in entry and "in handler" in entry for entry in detail["stackTrace"])
    assert 'raise BoomError("the boom cause")' in detail["stackTrace"][-1]
    tail = detail["logTail"]
    assert tail.startswith(f"boom printed {request_id}\n")  # the id the function saw is the one kept
    assert "\x1b[31mred on a terminal" in tail and "[WARNING] about to raise" in tail
    assert detail["logBytes"] == len(tail.encode())


def _check_succeeded(detail: dict[str, Any]) -> None:
    """The chatty invocation's TaskSucceeded detail: its output, and a bounded tail of its huge output."""
    assert detail["output"] == {"chatty": True}
    assert detail["logTail"].endswith("chatty line 1499 " + "c" * 80 + "\nCHATTY END\n")
    assert len(detail["logTail"].encode()) == LOG_TAIL_BYTES
    assert detail["logBytes"] == CHATTY_BYTES
    assert "stackTrace" not in detail and len(detail["requestId"]) == 36


@pytest.mark.parametrize("sdk", ["fnfcore", "fnftea"])
def test_official_sdks_read_the_output_and_the_stack(sdk: str, server: ServerProcess) -> None:
    out = run_scenario(
        sdk,
        server.endpoint,
        f"""
name = "sdk_{sdk}"
call("StartExecution", FlowName="fnlogs", ExecutionName=name, Input="{{}}")
out["done"] = call("DescribeExecution", FlowName="fnlogs", ExecutionName=name, WaitTimeSeconds=30)
out["history"] = call("GetExecutionHistory", FlowName="fnlogs", ExecutionName=name, Limit=100)
""",
    )
    done = out["done"]["ok"]
    # The huge output never counts as step data: the execution fails in the boom step, not on a data limit.
    assert done["Status"] == "Failed", done
    events = out["history"]["ok"]["Events"]
    assert all(isinstance(e["EventDetail"], str) for e in events)  # EventDetail stays JSON text
    details = {e["Type"]: json.loads(e["EventDetail"]) for e in events if e["Type"].startswith("Task")}
    _check_failed(details["TaskFailed"])
    _check_succeeded(details["TaskSucceeded"])
    # Only the task events carry the invocation; the step and execution events keep their fields.
    step_failed = next(json.loads(e["EventDetail"]) for e in events if e["Type"] == "StepFailed")
    assert step_failed == {"error": "BoomError", "cause": "the boom cause"}
    request_id = details["TaskFailed"]["requestId"]
    lines = [line for line in server.log().splitlines() if request_id in line]
    assert len(lines) == 1, lines
    assert "function svc/boom failed" in lines[0] and "BoomError: the boom cause" in lines[0]


def test_rest_history_documents_carry_the_fields(api: httpx.Client, finished: str) -> None:
    events = api.get(f"/flows/fnlogs/executions/{finished}/history", params={"limit": 100}).json()["events"]
    failed = _by_type(events, "TaskFailed")
    _check_failed(failed)
    _check_succeeded(_by_type(events, "TaskSucceeded"))
    assert _by_type(events, "ExecutionFailed") == {"error": "BoomError", "cause": "the boom cause"}


def test_the_server_log_has_one_line_per_failure_without_the_stack(
    api: httpx.Client, finished: str, server: ServerProcess
) -> None:
    events = api.get(f"/flows/fnlogs/executions/{finished}/history", params={"limit": 100}).json()["events"]
    request_id = _by_type(events, "TaskFailed")["requestId"]
    log = server.log()
    (line,) = [line for line in log.splitlines() if request_id in line]
    assert line.endswith(f"function svc/boom failed (request {request_id}): BoomError: the boom cause")
    assert "Traceback" not in log and "boom.py" not in log and "about to raise" not in log
    succeeded = _by_type(events, "TaskSucceeded")["requestId"]
    assert succeeded not in log  # a successful invocation logs nothing


def _cli_env(server: ServerProcess) -> dict[str, str]:
    return {**TEST_KEYS, "TIDEGATE_ENDPOINT": server.url}


def test_exec_history_shows_the_request_stack_and_log(server: ServerProcess, api: httpx.Client, finished: str) -> None:
    events = api.get(f"/flows/fnlogs/executions/{finished}/history", params={"limit": 100}).json()["events"]
    failed = _by_type(events, "TaskFailed")
    r = tidegate("exec", "history", "fnlogs", finished, env=_cli_env(server))
    assert r.rc == 0 and not r.err, r
    lines = r.out.splitlines()
    row = next(i for i, line in enumerate(lines) if " TaskFailed " in line)
    assert lines[row].endswith('{"error":"BoomError","cause":"the boom cause"}')  # the log is not in DETAIL
    below = []
    for line in lines[row + 1 :]:
        if not line.startswith("    "):
            break
        below.append(line)
    assert below[:2] == [f"    request: {failed['requestId']}", "    stack trace:"]
    assert any("boom.py" in line and "in handler" in line for line in below)
    assert 'raise BoomError("the boom cause")' in [line.strip() for line in below]
    log_at = below.index(f"    log ({failed['logBytes']} bytes):")
    assert below[log_at + 1] == f"      boom printed {failed['requestId']}"
    # A terminal escape the function printed is shown escaped, never sent to the terminal.
    assert below[log_at + 2] == "      \\x1b[31mred on a terminal\\x1b[0m" and "\x1b" not in r.out
    chatty = next(i for i, line in enumerate(lines) if " TaskSucceeded " in line)
    assert lines[chatty + 2] == f"    log (the last {LOG_TAIL_BYTES} of {CHATTY_BYTES} bytes):"
    assert "      CHATTY END" in lines

    quiet = tidegate("exec", "history", "fnlogs", finished, "--no-logs", env=_cli_env(server))
    assert quiet.rc == 0 and "request:" not in quiet.out and "boom printed" not in quiet.out
    assert quiet.out.splitlines() == [line for line in lines if not line.startswith("    ")]

    as_json = tidegate("exec", "history", "fnlogs", finished, "--json", env=_cli_env(server))
    _check_failed(_by_type(as_json.json()["events"], "TaskFailed"))
    both = tidegate("exec", "history", "fnlogs", finished, "--json", "--no-logs", env=_cli_env(server))
    assert both.rc == 2 and "--no-logs" in both.err


def _trigger(server: ServerProcess, path: str, **headers: str) -> httpx.Response:
    return httpx.get(f"{server.url}/2016-08-15/proxy/web/page{path}", headers=headers, timeout=60)


def _log_result(resp: httpx.Response) -> str:
    (value,) = resp.headers.get_list("x-fc-log-result")
    return base64.b64decode(value).decode()


def test_http_trigger_log_tail_on_request(server: ServerProcess) -> None:
    tail = _trigger(server, "/hello", **{"X-Fc-Log-Type": "Tail"})
    assert tail.status_code == 200 and tail.text == "hello"
    assert _log_result(tail) == "web printed /hello\n"  # the function's own X-Fc-Log-Result is dropped
    assert tail.headers.get_list("x-fc-request-id") != ["spoofed"] and len(tail.headers["x-fc-request-id"]) == 36
    for headers in ({}, {"X-Fc-Log-Type": "None"}):
        plain = _trigger(server, "/hello", **headers)
        assert plain.status_code == 200 and "x-fc-log-result" not in plain.headers
        assert plain.headers.get_list("x-fc-request-id") != ["spoofed"]

    huge = _trigger(server, "/huge", **{"X-Fc-Log-Type": "Tail"})
    text = _log_result(huge)
    assert len(text.encode()) == LOG_TAIL_BYTES and text.endswith("web line 0999 " + "w" * 60 + "\nWEB END\n")


def test_http_trigger_failure_has_its_log_and_one_server_line(server: ServerProcess) -> None:
    failed = _trigger(server, "/fail", **{"X-Fc-Log-Type": "Tail"})
    assert failed.status_code == 502 and failed.json()["errorType"] == "RuntimeError"
    assert _log_result(failed) == "web printed /fail\n"
    request_id = failed.headers["x-fc-request-id"]
    (line,) = [line for line in server.log().splitlines() if request_id in line]
    assert line.endswith(f"function web/page failed (request {request_id}): RuntimeError: web failed")


@pytest.mark.parametrize("value", ["Verbose", "", "Tail, None"])
def test_http_trigger_refuses_an_unknown_log_type(server: ServerProcess, value: str) -> None:
    resp = _trigger(server, "/hello", **{"X-Fc-Log-Type": value})
    assert resp.status_code == 400 and resp.json()["ErrorCode"] == "InvalidArgument"
    assert "X-Fc-Log-Type" in resp.json()["ErrorMessage"] and resp.headers["x-fc-request-id"]


def test_http_trigger_refuses_two_different_log_types(server: ServerProcess) -> None:
    resp = httpx.get(
        f"{server.url}/2016-08-15/proxy/web/page/x",
        headers=[("X-Fc-Log-Type", "Tail"), ("X-Fc-Log-Type", "None")],
        timeout=60,
    )
    assert resp.status_code == 400 and resp.json()["ErrorCode"] == "InvalidArgument"
