"""A task that times out abandons its invocation: the execution goes on, the invocation's late result is dropped.

The function sleeps far longer than the step's ``timeoutSeconds: 1``. The execution must end without
waiting for it (in-process and under ``tidegate run``); the worker is freed at the function's own timeout,
and what the invocation returns then is not applied.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.runtime.helpers import TIDEGATE, history, wait_ended
from tests.waiting import wait_until
from tidegate.functions import resolve_local_function
from tidegate.runtime import Runtime, load_signer
from tidegate.runtime.service import WorkflowService
from tidegate.runtime.translate import TASK_JOB
from tidegate.store import open_store

FLOW = """version: v1
type: flow
steps:
  - type: task
    name: call
    resourceArn: acs:fc:::services/svc/functions/slow
    timeoutSeconds: 1
"""

SLOW = """import pathlib, time

def handler(event, context):
    time.sleep(30)  # a deliberately slow function: the step's 1 s timeout must abandon it
    pathlib.Path(__file__).with_name("slow.done").touch()
    return b'{"late": true}'
"""


def _functions(tmp_path: Path) -> Path:
    service = tmp_path / "functions" / "svc"
    service.mkdir(parents=True)
    (service / "slow.py").write_text(SLOW, encoding="utf-8")
    return service.parent


def test_the_execution_ends_at_the_task_timeout_and_the_late_invocation_is_dropped(tmp_path: Path) -> None:
    functions = _functions(tmp_path)
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    signer = load_signer(store)

    def resolve(service: str, qualifier: str, function: str):  # type: ignore[no-untyped-def]
        return resolve_local_function(functions, service, function, timeout_s=3)  # the function's own timeout

    runtime = Runtime(store, signer=signer, resolver=resolve, workers=1)
    service = WorkflowService(store, signer, apply_now=runtime.driver.apply_now)
    try:
        with runtime:
            service.create_flow("f", FLOW)
            record, _ = service.start_execution("f", "e1")
            ended = wait_ended(store, record.id, 15)
            assert (ended.status, ended.error) == ("Failed", "FnF.TaskTimeout")
            assert not (functions / "svc" / "slow.done").exists()  # the function was still running
            # At the function's own timeout its worker is killed and freed; the job's result is dropped.
            wait_until(
                lambda: store.next_job_ms([TASK_JOB]) is None,
                message="the abandoned job to finish",
                notifier=store.notifier,
            )
            assert runtime.runner is not None and runtime.runner.worker_pids() == []
            types = [e.type for e in history(store, record.id)]
            assert types[-1] == "ExecutionFailed" and "TaskSucceeded" not in types
    finally:
        store.close()


def test_tidegate_run_returns_when_the_execution_ends_not_when_the_function_does(tmp_path: Path) -> None:
    functions = _functions(tmp_path)
    flow = tmp_path / "slow.yaml"
    flow.write_text(FLOW, encoding="utf-8")
    args = [TIDEGATE, "run", str(flow), "--functions", str(functions), "--json"]
    args += ["--store", f"sqlite:///{tmp_path / 'cli.db'}", "--name", "run1"]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    # The function sleeps 30 s: the run must be back long before (subprocess.run raises past 15 s).
    proc = subprocess.run(args, capture_output=True, text=True, timeout=15, env=env, check=False)
    result = json.loads(proc.stdout)
    assert (proc.returncode, result["Status"]) == (1, "Failed"), proc.stderr
    last = result["Events"][-1]
    assert (last["Type"], json.loads(last["EventDetail"])["error"]) == ("ExecutionFailed", "FnF.TaskTimeout")
    assert not (functions / "svc" / "slow.done").exists()
