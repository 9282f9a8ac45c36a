"""Hostile JSON and numbers at every edge (RPC, REST, console), in-process on a real SQLite store.

Each protocol must answer its own 400 (never a 500) to: lone surrogates, NaN/Infinity, numbers beyond a
double, JSON nested 5,000 deep, and integers out of range; and no request may log an internal error.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.scenarios import CALLBACK_FLOW, PASS_FLOW
from tests.api.test_rpc_protocol import signed
from tests.inprocess import in_process
from tidegate.api.context import AppContext
from tidegate.api.rest_functions import record_from_body
from tidegate.auth.keys import AccessKey, KeyKind, KeyRing
from tidegate.deploy.errors import InvalidFunction
from tidegate.jsontext import MAX_DEPTH, JsonTextError, compact
from tidegate.store import open_store

ROOT = AccessKey(id="testAccessKeyId", secret="testAccessKeySecret", kind=KeyKind.ROOT, account_id="1234567890123456")
BASIC = "Basic " + base64.b64encode(f"{ROOT.id}:{ROOT.secret}".encode()).decode()
DEEP = "[" * 5000 + "]" * 5000
HUGE = "99999999999999999999999"

#: Hostile JSON object texts (what a client can put in Input, Output, Payload or a body) → message part.
BAD_OBJECTS = {
    "surrogate": ('{"a":"\\ud800"}', "lone UTF-16 surrogate at $"),
    "surrogate_key": ('{"\\udfff":1}', "(a key)"),
    "nan": ('{"a":NaN}', "NaN is not a JSON number"),
    "infinity": ('{"b":Infinity}', "Infinity is not a JSON number"),
    "minus_infinity": ('{"b":-Infinity}', "-Infinity is not a JSON number"),
    "overflow": ('{"c":1e400}', "out of range"),
    "deep": ('{"d":' + DEEP + "}", "nested deeper than"),
}


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"k": value}
    return value


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[AppContext]:
    store = open_store(f"sqlite:///{tmp_path / 'edge.db'}")
    ctx = AppContext(store=store, keyring=KeyRing(ROOT))
    ctx.service.create_flow("f", PASS_FLOW)
    ctx.service.create_flow("cb", CALLBACK_FLOW)
    ctx.service.start_execution("f", "e1")
    yield ctx
    store.close()


@pytest.fixture
def app(ctx: AppContext) -> Iterator[httpx.Client]:
    with in_process(ctx) as client:
        yield client


@pytest.fixture(autouse=True)
def no_internal_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Whatever a test sends, nothing is logged at ERROR (an internal error logs its traceback)."""
    caplog.set_level(logging.WARNING)
    yield
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


def rpc(client: httpx.Client, **params: str) -> tuple[int, dict[str, Any]]:
    r = client.post("/", data=signed(params, method="POST"))
    return r.status_code, r.json()


def rest(
    client: httpx.Client, method: str, path: str, content: str | bytes | None = None
) -> tuple[int, dict[str, Any]]:
    headers = {"authorization": BASIC, "content-type": "application/json"}
    r = client.request(method, "/api/v1" + path, content=content, headers=headers)
    return r.status_code, r.json() if r.content else {}


def console(
    client: httpx.Client, method: str, path: str, content: str | bytes | None = None
) -> tuple[int, dict[str, Any]]:
    r = client.post("/console/api/session", json={"access_key_id": ROOT.id, "access_key_secret": ROOT.secret})
    assert r.status_code == 200, r.text
    headers = {"x-csrf-token": r.json()["csrf"], "content-type": "application/json"}
    r = client.request(method, "/console/api" + path, content=content, headers=headers)
    return r.status_code, r.json()


def assert_rpc_400(answer: tuple[int, dict[str, Any]], message: str) -> None:
    status, body = answer
    assert (status, body["Code"]) == (400, "InvalidArgument"), body
    assert message in body["Message"], body


def assert_doc_400(answer: tuple[int, dict[str, Any]], message: str) -> None:
    status, body = answer
    assert (status, body["code"]) == (400, "InvalidArgument"), body
    assert message in body["message"], body


# --- RPC ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", BAD_OBJECTS)
def test_rpc_json_parameters_are_strict(app: httpx.Client, ctx: AppContext, case: str) -> None:
    text, message = BAD_OBJECTS[case]
    assert_rpc_400(rpc(app, Action="StartExecution", FlowName="f", ExecutionName="x", Input=text), message)
    token = ctx.signer.mint("cb", "e9", "1", execution_id=1, flow_id="f-id")
    assert_rpc_400(rpc(app, Action="ReportTaskSucceeded", TaskToken=token, Output=text), message)
    assert_rpc_400(
        rpc(app, Action="CreateSchedule", FlowName="f", ScheduleName="s", CronExpression="@every 1m", Payload=text),
        message,
    )
    code = rpc(app, Action="DescribeExecution", FlowName="f", ExecutionName="x")[1]["Code"]
    assert code == "ExecutionNotExists"  # nothing was started


def test_rpc_input_depth_limit_is_exact(app: httpx.Client) -> None:
    ok = rpc(app, Action="StartExecution", FlowName="f", ExecutionName="d64", Input=compact(nested(MAX_DEPTH)))
    assert ok[0] == 200, ok
    too_deep = compact(nested(MAX_DEPTH + 1))
    assert_rpc_400(rpc(app, Action="StartExecution", FlowName="f", Input=too_deep), "nested deeper")


def test_rpc_definitions_and_texts_with_surrogates(app: httpx.Client) -> None:
    definition = PASS_FLOW.replace("source: 1", 'source: "\\ud800"')
    assert_rpc_400(rpc(app, Action="CreateFlow", Name="g", Definition=definition, Type="FDL"), "lone UTF-16 surrogate")
    # A tab before a token is JSON but not YAML: such a text is read by the JSON fallback, strict too.
    mappings = '[{"target":"a",\n\t"source":SOURCE}]'
    json_definition = (
        '{"version":"v1","type":"flow","steps":[{"type":"pass","name":"p","outputMappings":' + mappings + "}]}"
    )
    for bad in ("NaN", "1e999", '"\\ud800"'):
        status, body = rpc(app, Action="CreateFlow", Name="g", Definition=json_definition.replace("SOURCE", bad))
        assert (status, body["Code"]) == (400, "InvalidArgument"), body
    assert rpc(app, Action="CreateFlow", Name="g", Definition=json_definition.replace("SOURCE", "1"))[0] == 200


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"Action": "ListFlows", "Limit": HUGE}, "between 1 and 1000"),
        ({"Action": "ListFlows", "Limit": "1" * 5000}, "must be an integer"),
        ({"Action": "ListFlows", "Limit": "٣"}, "must be an integer"),  # a digit int() would take
        ({"Action": "ListFlows", "Limit": " 5"}, "must be an integer"),
        ({"Action": "ListExecutions", "FlowName": "f", "NextToken": HUGE + ".1"}, "NextToken"),
        ({"Action": "ListExecutions", "FlowName": "f", "NextToken": "1." + HUGE}, "NextToken"),
        ({"Action": "ListExecutions", "FlowName": "f", "NextToken": "-" + HUGE + ".1"}, "NextToken"),
        ({"Action": "ListExecutions", "FlowName": "f", "StartedTimeBegin": HUGE}, "RFC 3339"),
        ({"Action": "GetExecutionHistory", "FlowName": "f", "ExecutionName": "e1", "NextToken": HUGE}, "NextToken"),
        ({"Action": "DescribeExecution", "FlowName": "f", "ExecutionName": "e1", "WaitTimeSeconds": "1e11"}, "integer"),
        ({"Action": "DescribeExecution", "FlowName": "f", "ExecutionName": "e1", "WaitTimeSeconds": HUGE}, "0 and 60"),
    ],
)
def test_rpc_numbers_out_of_range(app: httpx.Client, params: dict[str, str], message: str) -> None:
    assert_rpc_400(rpc(app, **params), message)


# --- REST --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", BAD_OBJECTS)
def test_rest_bodies_are_strict(app: httpx.Client, case: str) -> None:
    text, message = BAD_OBJECTS[case]
    assert_doc_400(rest(app, "POST", "/flows/f/executions", '{"name":"x","input":' + text + "}"), message)
    assert_doc_400(rest(app, "POST", "/tasks/succeeded", '{"token":"t","output":' + text + "}"), message)
    assert_doc_400(
        rest(app, "POST", "/flows/f/schedules", '{"name":"s","cron":"@every 1m","payload":' + text + "}"), message
    )
    assert_doc_400(rest(app, "POST", "/flows", text), message)
    assert rest(app, "GET", "/flows/f/executions/x")[0] == 404


def test_rest_depth_and_texts(app: httpx.Client) -> None:
    ok = rest(app, "POST", "/flows/f/executions", compact({"name": "d64", "input": nested(MAX_DEPTH)}))
    assert ok[0] == 201, ok
    too_deep = rest(app, "POST", "/flows/f/executions", compact({"input": nested(MAX_DEPTH + 1)}))
    assert_doc_400(too_deep, "nested deeper")
    assert_doc_400(rest(app, "POST", "/flows", DEEP), "nested deeper")
    surrogate = '{"name":"g","definition":' + compact(PASS_FLOW) + ',"description":"\\ud800"}'
    assert_doc_400(rest(app, "POST", "/flows", surrogate), "surrogate at $.description")
    assert_doc_400(rest(app, "POST", "/tasks/failed", '{"token":"t","error":"E","cause":"\\udc00x"}'), "surrogate")
    assert_doc_400(rest(app, "POST", "/flows", b'{"name":"\xed\xa0\x80"}'), "not UTF-8")


@pytest.mark.parametrize(
    "path",
    [
        f"/flows?limit={HUGE}",
        "/flows?limit=%D9%A3",  # an Arabic-Indic digit
        f"/flows/f/executions?next_token={HUGE}.1",
        f"/flows/f/executions?limit={HUGE}",
        f"/flows/f/executions?started_after={HUGE}",
        f"/flows/f/executions/e1?wait={HUGE}",
        f"/flows/f/executions/e1/history?next_token={HUGE}",
        f"/flows/f/executions/e1/history?limit=-{HUGE}",
        f"/flows/f/schedules?limit={HUGE}",
    ],
)
def test_rest_numbers_out_of_range(app: httpx.Client, path: str) -> None:
    status, body = rest(app, "GET", path)
    assert (status, body["code"]) == (400, "InvalidArgument"), body


def test_function_timeout_beyond_a_double() -> None:
    with pytest.raises(InvalidFunction, match="timeout"):
        record_from_body("s", "f", {"code_dir": "/tmp", "timeout": 10**400})


# --- console -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", BAD_OBJECTS)
def test_console_bodies_are_strict(app: httpx.Client, case: str) -> None:
    text, message = BAD_OBJECTS[case]
    assert_doc_400(console(app, "POST", "/flows/f/executions", '{"name":"x","input":' + text + "}"), message)
    assert_doc_400(console(app, "POST", "/flows/f/executions/e1/stop", text), message)


def test_console_texts_and_depth(app: httpx.Client) -> None:
    assert_doc_400(console(app, "POST", "/flows/f/executions/e1/stop", '{"error":"\\ud800"}'), "surrogate")
    assert_doc_400(console(app, "POST", "/flows/f/executions", DEEP), "nested deeper")
    assert_doc_400(console(app, "POST", "/flows/f/executions", b'{"input":{"a":"\xff"}}'), "not UTF-8")
    ok = console(app, "POST", "/flows/f/executions", compact({"name": "d64", "input": nested(MAX_DEPTH)}))
    assert ok[0] == 201, ok


@pytest.mark.parametrize(
    "query",
    [
        f"/flows/f/executions?from={HUGE}",
        f"/flows/f/executions?to={HUGE}",
        "/flows/f/executions?from=%C2%B2",  # '²' passes str.isdigit() but not int()
        "/flows/f/executions?limit=--5",
        f"/flows/f/executions?limit={'9' * 5000}",
        f"/flows/f/executions?next_token={HUGE}.1",
        f"/flows/f/executions/e1/progress?after={HUGE}",
        f"/flows?limit={HUGE}",
        f"/flows?q=x&next_token={HUGE}",
    ],
)
def test_console_numbers_out_of_range(app: httpx.Client, query: str) -> None:
    status, body = console(app, "GET", query)
    assert (status, body["code"]) == (400, "InvalidArgument"), body


def test_console_time_filters_still_work(app: httpx.Client) -> None:
    times = (
        "from=1700000000000",
        "from=2026-01-01T00:00:00Z",
        "to=9999-12-31T00:00:00",
        "from=0001-01-01T00:00%2B23:59",
    )
    for query in times:
        status, body = console(app, "GET", f"/flows/f/executions?{query}")
        assert status == 200, body
    assert [
        e["name"] for e in console(app, "GET", "/flows/f/executions?to=2026-01-01T00:00:00Z")[1]["executions"]
    ] == []
    assert [e["name"] for e in console(app, "GET", "/flows/f/executions?from=0")[1]["executions"]] == ["e1"]


def test_service_texts_from_python_callers(ctx: AppContext) -> None:
    # Raw surrogates cannot come from a UTF-8 request, but a caller in Python can pass them.
    with pytest.raises(JsonTextError, match="The description holds a lone UTF-16 surrogate at character 1"):
        ctx.service.create_flow("g", PASS_FLOW, description="a\ud800")
    with pytest.raises(JsonTextError, match="The cause holds"):
        ctx.service.stop_execution("f", "e1", "E", "\udfff")
    with pytest.raises(JsonTextError, match="The execution input holds a lone UTF-16 surrogate at \\$\\.a"):
        ctx.service.start_execution("f", "x", '{"a":"\ud800"}')
