"""A user's pytest file using ``tidegate.testing`` passes: the fixture comes from the installed entry point.

Each test writes a test file to ``tmp_path`` as a user would, and runs ``pytest`` on it in a subprocess with
no configuration of ours (no conftest, no ``pytest_plugins``): the plugin is found through the ``pytest11``
entry point of the installed package.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

from tests.cli.helpers import base_env
from tests.conftest import REPO
from tests.sdkenv import SdkEnv, run_in_env, worker_env  # noqa: F401  (the fixture must be imported)

EXAMPLE = REPO / "examples" / "queue-callback"

USER_TESTS = f"""
import json

from tidegate.sdk import TaskFailed, current_task

EXAMPLE = {str(EXAMPLE)!r}
seen = []


def handle(payload):  # the first document's worker: report {{"key": "value"}}
    seen.append((payload, current_task().token[:4]))
    return {{"key": payload["key"]}}


def refuse(payload):
    raise TaskFailed("NotToday", "closed for " + payload["key"])


def test_first_document_flow_succeeds(tidegate_server):
    tidegate_server.deploy(EXAMPLE + "/deploy.yaml")
    tidegate_server.worker("fnf-demo", handle)
    tidegate_server.start_execution("mns-queue-callback", "run-1", {{}})
    r = tidegate_server.wait_execution("mns-queue-callback", "run-1", timeout=60)
    assert r.status == "Succeeded", (r.error, r.cause)
    assert json.loads(r.output) == {{"key": "value"}}
    assert seen and seen[0][0] == {{"key": "value"}} and seen[0][1]


def test_a_worker_failure_fails_the_execution(tidegate_server):
    tidegate_server.deploy(EXAMPLE + "/deploy.yaml")
    tidegate_server.worker("fnf-demo", refuse)
    tidegate_server.start_execution("mns-queue-callback", "run-2")
    r = tidegate_server.wait_execution("mns-queue-callback", "run-2", timeout=60)
    assert (r.status, r.error, r.cause) == ("Failed", "NotToday", "closed for value")


def test_each_test_has_its_own_server(tidegate_server, tidegate_server_factory):
    other = tidegate_server_factory(region="cn-shanghai")
    assert other.endpoint != tidegate_server.endpoint and other.region == "cn-shanghai"
    assert other.access_key_id != tidegate_server.access_key_id
    assert tidegate_server.ctx.service.list_flows().items == []   # nothing deployed by the tests before
"""

SDK_TESTS = f"""
import json

from aliyunsdkfnf.request.v20190315 import (
    DescribeExecutionRequest,
    ReportTaskSucceededRequest,
    StartExecutionRequest,
)

EXAMPLE = {str(EXAMPLE)!r}


def test_official_sdks_against_the_fixture(tidegate_server):
    tidegate_server.deploy(EXAMPLE + "/deploy.yaml")
    queue = tidegate_server.mns_account().get_queue("fnf-demo")
    queue.set_encoding(False)  # the flow sends JSON text, as the document's worker reads it
    assert queue.get_attributes().visibility_timeout > 0
    client = tidegate_server.fnf_client()
    start = StartExecutionRequest.StartExecutionRequest()
    start.set_FlowName("mns-queue-callback")
    start.set_ExecutionName("sdk-1")
    client.do_action_with_exception(start)
    message = queue.receive_message(5)          # what the flow sent: the task token and the mapped input
    body = json.loads(message.message_body)
    assert body["key"] == "value" and body["task_token"]
    report = ReportTaskSucceededRequest.ReportTaskSucceededRequest()
    report.set_TaskToken(body["task_token"])
    report.set_Output('{{"key": "value"}}')
    client.do_action_with_exception(report)
    queue.delete_message(message.receipt_handle)
    r = tidegate_server.wait_execution("mns-queue-callback", "sdk-1", timeout=60)
    assert r.status == "Succeeded"
    describe = DescribeExecutionRequest.DescribeExecutionRequest()
    describe.set_FlowName("mns-queue-callback")
    describe.set_ExecutionName("sdk-1")
    assert json.loads(client.do_action_with_exception(describe))["Status"] == "Succeeded"
"""

SKIP_TESTS = """
def test_fnf_client_without_the_sdk(tidegate_server):
    tidegate_server.fnf_client()
    raise AssertionError("not reached: the SDK is not installed here")
"""


def run_pytest(folder: Path, pythonpath: str | None = None) -> subprocess.CompletedProcess[str]:
    env = base_env({"PYTHONPATH": pythonpath} if pythonpath else None)
    cmd = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", str(folder)]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=folder, env=env, timeout=300)


def test_a_users_pytest_file_runs_a_callback_flow_with_a_worker(tmp_path: Path) -> None:
    (tmp_path / "test_flows.py").write_text(USER_TESTS)
    proc = run_pytest(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 passed" in proc.stdout, proc.stdout


def test_official_sdk_clients_skip_the_test_when_missing(tmp_path: Path) -> None:
    (tmp_path / "test_skip.py").write_text(SKIP_TESTS)
    proc = run_pytest(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 skipped" in proc.stdout and "pip install aliyun-python-sdk-core" in proc.stdout, proc.stdout


def test_official_sdk_clients_reach_the_fixtures_server(tmp_path: Path, worker_env: SdkEnv) -> None:  # noqa: F811
    # A user's environment with the SDKs installed: ours first (its own cryptography), then the SDKs'.
    sdk_lib = run_in_env("worker", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip()
    assert sdk_lib, "the SDK environment has no site-packages"
    ours = sysconfig.get_paths()["purelib"]
    (tmp_path / "test_sdk.py").write_text(SDK_TESTS)
    proc = run_pytest(tmp_path, f"{ours}:{sdk_lib}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout, proc.stdout
