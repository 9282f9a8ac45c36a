"""Against a real server: `tidegate deploy` / `destroy`, the functions REST resource, HTTP triggers, and a
flow task step on a deployed event function."""

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
from tests.server import TEST_KEYS, ServerProcess
from tests.waiting import wait_until

ECHO_HTTP = """
import json

def handler(environ, start_response):
    ctx = environ['fc.context']
    body = environ['wsgi.input'].read(int(environ.get('CONTENT_LENGTH') or 0))
    doc = {
        'method': environ['REQUEST_METHOD'], 'path': environ['PATH_INFO'], 'query': environ['QUERY_STRING'],
        'uri': environ['fc.request_uri'], 'body': body.decode(), 'header': environ.get('HTTP_X_DEMO'),
        'request_id': ctx.request_id, 'region': ctx.region, 'account_id': ctx.account_id,
        'function': ctx.function.name, 'key_id': ctx.credentials.access_key_id,
        'token': bool(ctx.credentials.security_token), 'greeting': __import__('os').environ.get('GREETING'),
    }
    start_response('201 Created', [('Content-Type', 'application/json'), ('Set-Cookie', 'a=1'),
                                   ('Set-Cookie', 'b=2')])
    return [json.dumps(doc).encode()]
"""

DOUBLE = """
import json

def handler(event, context):
    return {"doubled": json.loads(event)["n"] * 2}
"""

FLOW = """
version: v1
type: flow
steps:
  - type: task
    name: double
    resourceArn: acs:fc:::services/demo/functions/double
"""


def _write_app(root: Path, greeting: str = "hi") -> Path:
    (root / "web").mkdir(parents=True, exist_ok=True)
    (root / "web" / "index.py").write_text(ECHO_HTTP)
    (root / "calc").mkdir(exist_ok=True)
    (root / "calc" / "main.py").write_text(DOUBLE)
    (root / "flow.yaml").write_text(FLOW)
    (root / "deploy.yaml").write_text(
        f"""
queues:
  dq: {{VisibilityTimeout: 10}}
topics:
  dt:
    subscriptions:
      to-queue: {{endpoint: {{queue: dq}}, NotifyContentFormat: SIMPLIFIED}}
      to-web: {{endpoint: {{function: demo/web}}, NotifyContentFormat: JSON}}
functions:
  demo/web:
    code: web
    httpTrigger: {{methods: [GET, POST]}}
    env: {{GREETING: {greeting}}}
  demo/double:
    code: calc
    handler: main.handler
flows:
  doubler:
    definitionFile: flow.yaml
    schedules:
      nightly: {{cron: "0 0 3 * * *", enable: false, payload: {{n: 1}}}}
"""
    )
    return root / "deploy.yaml"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path_factory.mktemp("deploy") / "data", env=TEST_KEYS)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    auth = (TEST_KEYS["TIDEGATE_ACCESS_KEY_ID"], TEST_KEYS["TIDEGATE_ACCESS_KEY_SECRET"])
    with httpx.Client(base_url=server.url + "/api/v1", auth=auth, timeout=30) as client:
        yield client


def tidegate(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **TEST_KEYS}
    cmd = [sys.executable, "-c", "from tidegate.cli import main; main()", *args, "--endpoint", server.url]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, timeout=120)


def _lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    assert proc.returncode == 0, proc.stderr
    return [" ".join(line.split()) for line in proc.stdout.splitlines()]


def test_deploy_is_idempotent_updates_and_destroys(server: ServerProcess, api: httpx.Client, tmp_path: Path) -> None:
    path = _write_app(tmp_path)
    assert _lines(tidegate(server, "deploy", str(path))) == [
        "created function demo/web",
        "created function demo/double",
        "created queue dq",
        "created topic dt",
        "created subscription dt/to-queue",
        "created subscription dt/to-web",
        "created flow doubler",
        "created schedule doubler/nightly",
    ]
    assert all(line.startswith("unchanged ") for line in _lines(tidegate(server, "deploy", str(path))))
    _write_app(tmp_path, greeting="hello")
    text = path.read_text().replace("VisibilityTimeout: 10", "VisibilityTimeout: 20")
    path.write_text(
        text.replace(
            "to-queue: {endpoint: {queue: dq}, NotifyContentFormat: SIMPLIFIED}",
            "to-queue: {endpoint: {queue: dq}, NotifyContentFormat: XML}",
        )
    )
    changed = [line for line in _lines(tidegate(server, "deploy", str(path))) if not line.startswith("unchanged")]
    assert changed == ["updated function demo/web", "updated queue dq", "updated subscription dt/to-queue"]
    assert api.get("/functions/demo/web").json()["env"] == {"GREETING": "hello"}

    destroyed = _lines(tidegate(server, "destroy", str(path)))
    assert destroyed and all(line.startswith("deleted ") for line in destroyed)
    assert api.get("/functions/demo/web").status_code == 404
    assert api.get("/flows/doubler").status_code == 404
    assert httpx.post(server.url + "/2016-08-15/proxy/demo/web/").status_code == 404
    assert all(line.startswith("absent ") for line in _lines(tidegate(server, "destroy", str(path))))


def test_http_trigger_runs_the_wsgi_function(server: ServerProcess, tmp_path: Path) -> None:
    _lines(tidegate(server, "deploy", str(_write_app(tmp_path))))
    url = server.url + "/2016-08-15/proxy/demo.LATEST/web/a/b%20c?x=1&y=2"
    resp = httpx.post(url, content=b"payload", headers={"X-Demo": "yes"})
    assert resp.status_code == 201, resp.text
    doc = resp.json()
    assert doc["method"] == "POST" and doc["path"] == "/a/b c" and doc["query"] == "x=1&y=2"
    assert doc["uri"] == "/2016-08-15/proxy/demo.LATEST/web/a/b%20c?x=1&y=2"
    assert doc["body"] == "payload" and doc["header"] == "yes" and doc["greeting"] == "hi"
    assert doc["request_id"] == resp.headers["x-fc-request-id"]
    assert doc["region"] == "cn-hangzhou" and doc["account_id"] and doc["function"] == "web"
    # The service has no role: as in Function Compute, the function gets no credentials.
    assert doc["key_id"] == "" and doc["token"] is False
    assert resp.headers.get_list("set-cookie") == ["a=1", "b=2"]
    assert httpx.get(server.url + "/2016-08-15/proxy/demo/web").json()["path"] == "/"
    wrong = httpx.delete(server.url + "/2016-08-15/proxy/demo/web/")
    assert wrong.status_code == 405 and wrong.json()["ErrorCode"] == "MethodNotAllowed"
    # An event function has no trigger; an unknown one does not exist: both are FC's 404.
    for name in ("double", "nope"):
        missing = httpx.post(server.url + f"/2016-08-15/proxy/demo/{name}/")
        assert missing.status_code == 404 and missing.json()["ErrorCode"] == "FunctionNotFound"


def test_flow_task_runs_a_deployed_function(server: ServerProcess, api: httpx.Client, tmp_path: Path) -> None:
    _lines(tidegate(server, "deploy", str(_write_app(tmp_path))))
    started = api.post("/flows/doubler/executions", json={"name": "d1", "input": {"n": 21}})
    assert started.status_code in (200, 201), started.text

    def ended() -> dict[str, Any] | None:
        doc: dict[str, Any] = api.get("/flows/doubler/executions/d1", params={"wait": 5}).json()
        return doc if doc["status"] != "Running" else None

    # No pause between checks: each request itself waits (up to 5 s) for the execution to end.
    doc = wait_until(ended, interval=0, message="d1 to end")
    assert doc["status"] == "Succeeded" and doc["output"] == {"doubled": 42}


def test_functions_resource_auth_and_errors(server: ServerProcess, api: httpx.Client, tmp_path: Path) -> None:
    assert httpx.get(server.url + "/api/v1/functions").status_code == 401
    bad = api.put("/functions/demo/x", json={"code_dir": "relative"})
    assert bad.status_code == 400 and bad.json()["code"] == "InvalidArgument"
    unknown = api.put("/functions/demo/x", json={"code_dir": str(tmp_path), "colour": "red"})
    assert unknown.status_code == 400 and "colour" in unknown.json()["message"]
    made = api.put("/functions/demo/x", json={"code_dir": str(tmp_path), "timeout": 5})
    assert made.status_code == 201 and made.json()["result"] == "created"
    assert api.put("/functions/demo/x", json={"code_dir": str(tmp_path), "timeout": 5}).json()["result"] == "unchanged"
    assert "x" in [f["name"] for f in api.get("/functions", params={"service": "demo"}).json()["functions"]]
    ident = api.get("/identity").json()
    assert ident["endpoint"] == server.url and ident["region"] == "cn-hangzhou"
    assert api.delete("/functions/demo/x").status_code == 204
    gone = api.delete("/functions/demo/x")
    assert gone.status_code == 404 and gone.json()["code"] == "FunctionNotExists"
    failing = api.put(
        "/functions/demo/y", json={"code_dir": str(tmp_path), "requirements": ["no-such-pkg-tidegate==0"]}
    )
    assert failing.status_code == 400 and "pip" in failing.json()["message"]
    assert api.get("/functions/demo/y").status_code == 404
