"""The known hostile inputs, one fresh server each, with what the server must do with them.

Every case also keeps the suite's invariants (:meth:`Hostile.check`): no 5xx, errors in the protocol's
format, no traceback in the server log, ``/healthz`` answering. Where a value can be refused or accepted,
accepting it means carrying it through: an accepted execution ends, an accepted message can be received.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from xml.sax.saxutils import escape

import httpx
import pytest

from tests.api.scenarios import CALLBACK_FLOW
from tests.hostile.harness import PASS_FLOW, Hostile, Protocol, wait_ended, wait_token
from tests.hostile.values import BIG_INT, DEEP_JSON, DEEP_OBJECT, HUGE_INT, LONE_SURROGATE, NAN_INFINITY
from tests.server import free_port

END_TIMEOUT_S = 30.0
SLOW_CLIENT_S = 60.0  # generous: a server that times requests out at all does so well within a minute


def ended(h: Hostile, flow: str, execution: str) -> str:
    """Wait (with a deadline) until the execution has ended; its status."""
    return str(wait_ended(h, flow, execution, timeout_s=END_TIMEOUT_S)["Status"])


def flow(h: Hostile, name: str, definition: str = PASS_FLOW) -> None:
    h.rpc_ok({"Action": "CreateFlow", "Name": name, "Definition": definition, "Description": "", "Type": "FDL"})


def queue(h: Hostile, name: str, messages: int = 0) -> None:
    assert h.mns("PUT", f"/queues/{name}").status_code == 201
    for i in range(messages):
        doc = f"<Message><MessageBody>m{i}</MessageBody></Message>".encode()
        assert h.mns("POST", f"/queues/{name}/messages", body=doc).status_code == 201


def readable(h: Hostile, name: str) -> None:
    """Peek, receive one and receive 16 all answer without a 5xx."""
    for query in ("peekonly=true", "peekonly=true&numOfMessages=16", "waitseconds=0", "numOfMessages=16&waitseconds=0"):
        h.check(h.mns("GET", f"/queues/{name}/messages", query=query), Protocol.MNS, query)


def refused_or_carried(h: Hostile, flow_name: str, execution: str, r: httpx.Response) -> None:
    """A JSON value is refused with 400 InvalidArgument, or its execution runs to an end."""
    h.check(r, Protocol.RPC)
    if r.status_code == 200:
        ended(h, flow_name, execution)
        h.check_quiet(execution)
    else:
        assert r.status_code == 400 and r.json()["Code"] == "InvalidArgument", r.text


def rpc_start(value: str, strict: bool) -> Callable[[Hostile], None]:
    def case(h: Hostile) -> None:
        flow(h, "f")
        r = h.rpc({"Action": "StartExecution", "FlowName": "f", "ExecutionName": "e", "Input": value}, "POST")
        if strict:  # not RFC 8259 JSON, or beyond any parser's depth: refused at the edge
            h.check(r, Protocol.RPC)
            assert r.status_code == 400 and r.json()["Code"] == "InvalidArgument", r.text
        else:
            refused_or_carried(h, "f", "e", r)

    return case


def rpc_report(value: str, strict: bool) -> Callable[[Hostile], None]:
    def case(h: Hostile) -> None:
        flow(h, "cb", CALLBACK_FLOW)
        h.rpc_ok({"Action": "StartExecution", "FlowName": "cb", "ExecutionName": "e", "Input": "{}"})
        token = wait_token(h, "cb", "e")
        r = h.rpc({"Action": "ReportTaskSucceeded", "TaskToken": token, "Output": value}, "POST")
        if strict:
            h.check(r, Protocol.RPC)
            assert r.status_code == 400 and r.json()["Code"] == "InvalidArgument", r.text
        else:
            refused_or_carried(h, "cb", "e", r)

    return case


def rest_post(path: str, body: bytes, needs_flow: bool = True) -> Callable[[Hostile], None]:
    def case(h: Hostile) -> None:
        if needs_flow:
            flow(h, "f")
        r = h.rest("POST", path, content=body, headers={"content-type": "application/json"})
        h.check(r, Protocol.REST)
        assert r.status_code == 400, r.text

    return case


def console_call(
    method: str, path: str, body: dict[str, object] | bytes | None, status: int
) -> Callable[[Hostile], None]:
    def case(h: Hostile) -> None:
        flow(h, "f")
        queue(h, "q", messages=2)
        assert h.mns("PUT", "/topics/t").status_code == 201
        sub = (
            b"<Subscription><Endpoint>acs:mns:cn-hangzhou:1234567890123456:queues/q</Endpoint>"
            b"<NotifyContentFormat>SIMPLIFIED</NotifyContentFormat></Subscription>"
        )
        assert h.mns("PUT", "/topics/t/subscriptions/s", body=sub).status_code == 201
        content = json.dumps(body).encode() if isinstance(body, dict) else body
        r = h.console(method, path, content=content, headers={"content-type": "application/json"})
        h.check(r, Protocol.CONSOLE)
        assert r.status_code == status, r.text
        readable(h, "q")

    return case


def flow_message_with_control_characters(h: Hostile) -> None:
    # A task step sends a message whose body (from the input) XML cannot carry: the task fails, or the
    # body is refused; either way the queue stays readable.
    queue(h, "q", messages=1)
    definition = """version: v1
type: flow
steps:
  - type: task
    name: send
    resourceArn: acs:mns:::/queues/q/messages
    serviceParams:
      MessageBody: $.text
"""
    flow(h, "f", definition)
    r = h.rpc(
        {"Action": "StartExecution", "FlowName": "f", "ExecutionName": "e", "Input": '{"text":"flow\\u0002body"}'}
    )
    h.check(r, Protocol.RPC)
    if r.status_code == 200:
        assert ended(h, "f", "e") == "Failed", "a body XML cannot carry was sent"
    readable(h, "q")


def mns_receive_query(query: str) -> Callable[[Hostile], None]:
    def case(h: Hostile) -> None:
        queue(h, "q", messages=2)  # a non-empty queue: the fast path must validate too
        r = h.mns("GET", "/queues/q/messages", query=query)
        h.check(r, Protocol.MNS, query)
        assert r.status_code == 400 and b"<Code>InvalidArgument</Code>" in r.content, r.text

    return case


def mns_name_with_control_character(h: Hostile) -> None:
    # A name with a character XML cannot carry, on a method the resource does not have.
    r = h.mns("POST", "/queues/%1F")
    h.check(r, Protocol.MNS)
    assert r.status_code in (400, 405), r.text


def mns_trailing_slash(h: Hostile) -> None:
    r = h.mns("GET", "/queues/")
    h.check(r, Protocol.MNS)


def subscribe_empty_http_endpoint(h: Hostile) -> None:
    assert h.mns("PUT", "/topics/t").status_code == 201
    r = h.mns("PUT", "/topics/t/subscriptions/s", body=b"<Subscription><Endpoint>http://</Endpoint></Subscription>")
    h.check(r, Protocol.MNS)
    assert r.status_code == 400, r.text


def push_with_control_characters(h: Hostile) -> None:
    # An XML push of a body XML cannot carry must be refused at publish or fail the delivery cleanly.
    assert h.mns("PUT", "/topics/t").status_code == 201
    endpoint = escape(f"http://127.0.0.1:{free_port()}/hook")
    sub = f"<Subscription><Endpoint>{endpoint}</Endpoint><NotifyContentFormat>XML</NotifyContentFormat></Subscription>"
    assert h.mns("PUT", "/topics/t/subscriptions/s", body=sub.encode()).status_code == 201
    r = h.console("POST", "/topics/t/messages", json={"body": "p\u0001"})
    h.check(r, Protocol.CONSOLE)
    assert r.status_code == 400, r.text


def stale_token_after_recreate(h: Hostile) -> None:
    # A token of a deleted flow's execution must not complete the task of a new execution of the same names.
    flow(h, "cb", CALLBACK_FLOW)
    h.rpc_ok({"Action": "StartExecution", "FlowName": "cb", "ExecutionName": "e", "Input": "{}"})
    old = wait_token(h, "cb", "e")
    h.rpc_ok({"Action": "DeleteFlow", "Name": "cb"})
    flow(h, "cb", CALLBACK_FLOW)
    h.rpc_ok({"Action": "StartExecution", "FlowName": "cb", "ExecutionName": "e", "Input": "{}"})
    wait_token(h, "cb", "e")
    r = h.rpc({"Action": "ReportTaskSucceeded", "TaskToken": old, "Output": "{}"}, "POST")
    h.check(r, Protocol.RPC)
    assert r.status_code == 400, f"the old token completed the new execution's task: {r.text}"


def client_disconnects_mid_body(h: Hostile) -> None:
    # A client that closes the connection before its body is complete is not a server error.
    for target in ("/queues/x/messages", "/?Action=ListFlows", "/console/api/session"):
        with socket.create_connection(("127.0.0.1", h.srv.port), timeout=10) as s:
            s.sendall(f"POST {target} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabcdefghij".encode())
    h.check(h.http.get("/healthz"), Protocol.REST)
    # the server notices the disconnects asynchronously: give it a bounded moment, then read the log
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline and "Traceback" not in h.srv.log():
        time.sleep(0.05)  # polling a condition with a deadline
    h.check_quiet("client disconnects")


def slow_headers_are_timed_out(h: Hostile) -> None:
    # A connection that never finishes its request line is closed by the server (slow-loris).
    with socket.create_connection(("127.0.0.1", h.srv.port), timeout=SLOW_CLIENT_S) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        try:
            data = s.recv(65536)
        except TimeoutError:
            data = None
        assert data is not None, f"the connection was still open after {time.monotonic() - started:.0f} s"


CASES: dict[str, Callable[[Hostile], None]] = {
    "rpc-start-lone-surrogate": rpc_start(LONE_SURROGATE, strict=False),
    "rpc-start-nan-infinity": rpc_start(NAN_INFINITY, strict=True),
    "rpc-start-deep-array": rpc_start(DEEP_JSON, strict=True),
    "rpc-start-deep-object": rpc_start(DEEP_OBJECT, strict=True),
    "rpc-start-huge-int": rpc_start(HUGE_INT, strict=False),
    "rpc-start-big-int": rpc_start(BIG_INT, strict=False),
    "rpc-start-control-chars": rpc_start('{"text": "bad\\u0001"}', strict=False),
    "rpc-report-lone-surrogate": rpc_report(LONE_SURROGATE, strict=False),
    "rpc-report-nan-infinity": rpc_report(NAN_INFINITY, strict=True),
    "rpc-report-deep-object": rpc_report(DEEP_OBJECT, strict=True),
    "rpc-report-huge-int": rpc_report(HUGE_INT, strict=False),
    "rest-create-flow-deep": rest_post("/flows", DEEP_OBJECT.encode(), needs_flow=False),
    "rest-start-deep-input": rest_post("/flows/f/executions", ('{"input":' + DEEP_OBJECT + "}").encode()),
    "rest-start-nan-input": rest_post("/flows/f/executions", b'{"input": {"a": NaN}}'),
    "rest-start-lone-surrogate-input": rest_post("/flows/f/executions", ('{"input":' + LONE_SURROGATE + "}").encode()),
    "console-start-deep-input": console_call(
        "POST", "/flows/f/executions", ('{"input":' + DEEP_OBJECT + "}").encode(), 400
    ),
    "console-executions-from-huge": console_call("GET", "/flows/f/executions?from=99999999999999999999999", None, 400),
    "console-send-control-chars": console_call("POST", "/queues/q/messages", {"body": "bad\u0001"}, 400),
    "console-publish-control-chars": console_call("POST", "/topics/t/messages", {"body": "topic\u0003body"}, 400),
    "flow-message-control-chars": flow_message_with_control_characters,
    "mns-receive-waitseconds-negative": mns_receive_query("waitseconds=-1"),
    "mns-receive-waitseconds-not-utf8": mns_receive_query("waitseconds=%FF%FE"),
    "mns-receive-zero-messages": mns_receive_query("numOfMessages=0"),
    "mns-name-control-char-wrong-method": mns_name_with_control_character,
    "mns-queues-trailing-slash": mns_trailing_slash,
    "mns-subscribe-empty-http-endpoint": subscribe_empty_http_endpoint,
    "push-xml-control-chars": push_with_control_characters,
    "task-token-of-a-recreated-flow": stale_token_after_recreate,
    "client-disconnects-mid-body": client_disconnects_mid_body,
    "slow-headers-are-timed-out": slow_headers_are_timed_out,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_known_hostile_input(hostile: Hostile, case: str) -> None:
    CASES[case](hostile)
    hostile.check_quiet(case)
    assert httpx.get(hostile.srv.url + "/healthz", timeout=10).status_code == 200
