"""The callback round trip with 8 tidegate.sdk workers against 8 document-style workers, in the same run.

The flow is the first source document's (``examples/queue-callback/flow.yaml``) on a real ``tidegate
server`` per backend. Each round starts N executions through the RPC API (StartExecution, 16 in flight,
from one process using the SDK's RPC client: the same starter for both kinds of worker) while 8 worker
processes serve the queue ``fnf-demo``:

* ``document``: ``bench/drivers/callback_client.py worker`` in the ``worker`` environment: the first
  document's loop with the official SDKs (aliyun-mns 1.1.5, aliyunsdkcore + aliyunsdkfnf): one message per
  receive, ReportTaskSucceeded, one delete.
* ``sdk``: ``bench/drivers/sdk_client.py worker``: a :class:`tidegate.sdk.Worker` (batch receive, 16 tasks
  in flight per process, batch deletes).

executions/s = N / (last stop time - first start time), from the store; rounds alternate between the two
kinds (this machine's speed drifts) and the figure is the median of ``ROUNDS``. CPU per execution: the
server's (``/proc``), the 8 workers' (their loops' ``os.times()``) and the starter's, each divided by N.

Run: ``python -m bench callback-sdk [--quick] [--backend sqlite]`` (part of ``make bench``).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
from tests.server import TEST_KEYS, ServerProcess

from bench.callback import FLOW_FILE, QUEUE, _await_ended, _times
from bench.mq import DRIVERS, Driver, bench_server, driver_cmd, driver_env, run_drivers, server_cpu_s
from tidegate.mq.client import MnsClient
from tidegate.mq.wire import QueueAttributes, encode_queue_attributes

FLOW = "bench-callback"
ROUNDS = 3
WORKERS = 8
KINDS = ("document", "sdk")
_AUTH = (TEST_KEYS["TIDEGATE_ACCESS_KEY_ID"], TEST_KEYS["TIDEGATE_ACCESS_KEY_SECRET"])


def _sdk_cmd(*args: object) -> list[str]:
    return [sys.executable, str(DRIVERS / "sdk_client.py"), *map(str, args)]


def _setup(srv: ServerProcess) -> None:
    mns = MnsClient(srv.url, *_AUTH)
    try:
        mns.request("PUT", f"/queues/{QUEUE}", body=encode_queue_attributes(QueueAttributes(visibility_timeout=30)))
    finally:
        mns.close()
    with httpx.Client(base_url=srv.url + "/api/v1", auth=_AUTH, timeout=30) as api:
        r = api.post("/flows", json={"name": FLOW, "definition": FLOW_FILE.read_text()})
        r.raise_for_status()


def _round(srv: ServerProcess, url: str, tmp: Path, kind: str, prefix: str, n: int) -> dict[str, Any]:
    stop = tmp / f"stop-{prefix}"
    env = {**driver_env(srv), "PYTHONPATH": os.pathsep.join(sys.path)}
    limit_s = 60 + n / 5
    deadline = time.time() + limit_s
    if kind == "sdk":
        cmd = _sdk_cmd("worker", QUEUE, stop, deadline)
    else:
        cmd = driver_cmd("worker", "callback_client.py", "worker", QUEUE, stop, deadline)
    cpu0 = server_cpu_s(srv)
    workers = [Driver(cmd, env if kind == "sdk" else driver_env(srv)) for _ in range(WORKERS)]
    try:
        (started,) = run_drivers([_sdk_cmd("start", FLOW, prefix, n)], env, limit_s)
        _await_ended(url, time.monotonic() + limit_s)
    except BaseException:
        for w in workers:
            w.kill()
        raise
    stop.touch()
    results = [w.result(60) for w in workers]
    server_cpu = server_cpu_s(srv) - cpu0  # includes the workers' last idle polls
    reported = sum(r["reported"] for r in results)
    if reported != n:
        raise RuntimeError(f"{kind}: {n} executions, {reported} reports")
    times = _times(url, started["names"])
    span_s = (max(t[2] for t in times) - min(t[0] for t in times)) / 1000
    return {
        "executions": n,
        "seconds": round(span_s, 2),
        "executions_per_s": round(n / span_s, 1),
        "server_cpu_ms_per_execution": round(server_cpu * 1000 / n, 2),
        "worker_cpu_ms_per_execution": round(sum(r["cpu_s"] for r in results) * 1000 / n, 3),
        "starter_cpu_ms_per_execution": round(started["cpu_s"] * 1000 / n, 3),
    }


def run(backends: dict[str, str], quick: bool = False) -> dict[str, Any]:
    """Alternate document and SDK rounds on one server per backend; return the figures by backend and kind."""
    n = 200 if quick else 2000
    results: dict[str, Any] = {}
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tidegate-cbsdk-")))
        for label, template in backends.items():
            srv, url = stack.enter_context(bench_server(template))
            _setup(srv)
            rounds: dict[str, list[dict[str, Any]]] = {k: [] for k in KINDS}
            for i in range(ROUNDS):
                for kind in KINDS:
                    res = _round(srv, url, tmp, kind, f"{label}-{kind}-{i}", n)
                    rounds[kind].append(res)
                    print(f"  {label:13} {kind:8} {json.dumps(res)}", flush=True)
            results[label] = {kind: _summary(done) for kind, done in rounds.items()}
            print(f"  {label:13} summary  {json.dumps(results[label])}", flush=True)
    return results


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def _summary(done: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ("executions_per_s", "server_cpu_ms_per_execution", "worker_cpu_ms_per_execution")
    out: dict[str, Any] = {f"{k}_median": _median([r[k] for r in done]) for k in keys}
    out["executions_per_s_range"] = [min(r["executions_per_s"] for r in done), max(r["executions_per_s"] for r in done)]
    out["rounds"] = done
    return out
