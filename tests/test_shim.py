"""The sitecustomize shim points unchanged official-SDK programs at TIDEGATE_ENDPOINT.

A stdlib HTTP server in the test records what arrives; each SDK runs in its own environment with its
real default endpoint (an ``*.aliyuncs.com`` host), so a request reaching the recorder proves the shim.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.sdkenv import SdkEnv, run_in_env
from tidegate.shim import SHIM_DIR

SEND_OK = (
    b'<?xml version="1.0" encoding="UTF-8"?><Message xmlns="http://mns.aliyuncs.com/doc/v1/">'
    b"<MessageId>1</MessageId><MessageBodyMD5>00</MessageBodyMD5></Message>"
)


class Recorder(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list[tuple[str, str, dict[str, str]]] = []


class _Handler(BaseHTTPRequestHandler):
    server: Recorder

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.server.seen.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
        if self.path.startswith("/queues/"):
            body, status, ctype = SEND_OK, 201, "text/xml"
        else:
            body, status, ctype = json.dumps({"EventId": 7, "RequestId": "r"}).encode(), 200, "application/json"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-mns-request-id", "r")
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _env(recorder: Recorder) -> dict[str, str]:
    return {"PYTHONPATH": str(SHIM_DIR), "TIDEGATE_ENDPOINT": f"http://127.0.0.1:{recorder.server_address[1]}"}


MNS_PROGRAM = """
from mns.account import Account
from mns.queue import Message
acc = Account("https://1234567890123456.mns.cn-hangzhou.aliyuncs.com", "ak", "secret")
q = acc.get_queue("fnf-demo")
q.set_encoding(True)
print("sent", q.send_message(Message("hello")).message_id)
"""


@pytest.mark.parametrize("env_name", ["mns115", "mns130"])
def test_mns_sdk_is_redirected(env_name: str, recorder: Recorder, mns115_env: SdkEnv, mns130_env: SdkEnv) -> None:
    proc = run_in_env(env_name, MNS_PROGRAM, env=_env(recorder), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "sent 1" in proc.stdout
    assert [(m, p) for m, p, _ in recorder.seen] == [("POST", "/queues/fnf-demo/messages")]


def test_mns_sdk_untouched_without_endpoint(recorder: Recorder, mns130_env: SdkEnv) -> None:
    program = "import mns.mns_client as c; x = c.MNSClient('http://example.invalid:1', 'a', 'b'); print(x.host)"
    proc = run_in_env("mns130", program, env={"PYTHONPATH": str(SHIM_DIR)}, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "example.invalid:1"
    assert recorder.seen == []


def test_aliyunsdkcore_fnf_requests_are_redirected(recorder: Recorder, fnfcore_env: SdkEnv) -> None:
    program = """
from aliyunsdkcore.client import AcsClient
from aliyunsdkfnf.request.v20190315.ReportTaskSucceededRequest import ReportTaskSucceededRequest
client = AcsClient("ak", "secret", "cn-hangzhou")
req = ReportTaskSucceededRequest(); req.set_TaskToken("tok"); req.set_Output('{"a": 1}')
print(client.do_action_with_exception(req).decode())
"""
    proc = run_in_env("fnfcore", program, env=_env(recorder), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["EventId"] == 7
    ((method, path, headers),) = recorder.seen
    assert method == "POST" and "Action=ReportTaskSucceeded" in path
    assert headers["host"].startswith("127.0.0.1:")


def test_tea_fnf_client_is_redirected(recorder: Recorder, fnftea_env: SdkEnv) -> None:
    program = """
from alibabacloud_fnf20190315.client import Client
from alibabacloud_fnf20190315 import models as m
from alibabacloud_tea_openapi import models as om
c = Client(om.Config(access_key_id="ak", access_key_secret="secret", region_id="cn-hangzhou"))
r = c.report_task_succeeded(m.ReportTaskSucceededRequest(task_token="tok", output='{"a": 1}'))
print(r.body.event_id)
"""
    proc = run_in_env("fnftea", program, env=_env(recorder), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "7"
    assert len(recorder.seen) == 1 and "Action=ReportTaskSucceeded" in recorder.seen[0][1]
