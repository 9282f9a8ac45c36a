"""Workflow benchmarks: the runtime on a real store (SQLite file or PostgreSQL schema), in one process.

* ``pass20``: executions of a flow of 20 pass steps; reports step transitions/s (each execution's steps run
  in the one transaction that applies its start).
* ``fn5``: executions of a 5-step flow (pass, task on a local function, pass, pass, pass); reports
  executions/s. The function runs in the function runtime's worker processes.
* ``wait1s``: executions of a flow with a 1-second wait step, all started at once by 4 concurrent clients;
  reports the seconds from the first start until every one has ended (their timers run concurrently: the
  aim is seconds, not one second per execution).
* ``callback``: a waitForCallback task whose token the benchmark reports itself (as ReportTaskSucceeded
  does: ``complete_task``); reports p50/p99 from the report until the next step's StepEntered is committed
  and visible to a reader.

Run: ``python -m bench workflow`` (or ``make bench``).
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

from bench.mq import drop_schema
from tidegate.clock import now_ms
from tidegate.engine import TaskSucceeded
from tidegate.runtime import START, Runtime, load_signer
from tidegate.store import ExecutionRecord, FlowRecord, Store, open_store

PASS20 = "version: v1\ntype: flow\nsteps:\n" + "".join(
    f"  - type: pass\n    name: p{i}\n    outputMappings:\n      - target: k{i}\n        source: {i}\n"
    for i in range(20)
)

FN5 = """version: v1
type: flow
steps:
  - {type: pass, name: a}
  - {type: task, name: call, resourceArn: "acs:fc:::services/bench/functions/echo"}
  - {type: pass, name: b}
  - {type: pass, name: c}
  - {type: pass, name: d}
"""

WAIT1S = """version: v1
type: flow
steps:
  - {type: pass, name: before}
  - {type: wait, name: sleep, duration: 1}
  - {type: pass, name: after}
"""

CALLBACK = """version: v1
type: flow
steps:
  - type: task
    name: wait-for-report
    resourceArn: "acs:fc:::services/bench/functions/tokensink"
    pattern: waitForCallback
    inputMappings:
      - {target: token, source: $context.task.token}
  - {type: pass, name: after}
"""

ECHO = "def handler(event, context):\n    return {'ok': True}\n"
TOKEN = (
    "import json\n"
    "def handler(event, context):\n"
    "    tok = json.loads(event)['token']\n"
    "    with open({path!r}, 'a') as f:\n"
    "        f.write(tok + '\\n')\n"
    "    return {{}}\n"
)


def _flow(store: Store, name: str, definition: str) -> None:
    now = now_ms()
    store.create_flow(
        FlowRecord(name=name, id=str(uuid.uuid4()), definition=definition, created_ms=now, modified_ms=now)
    )


def _start(store: Store, flow: str, definition: str, n: int) -> list[int]:
    ids = []
    for _ in range(n):
        rec = ExecutionRecord(
            flow_name=flow, name=uuid.uuid4().hex, definition=definition, input="{}", started_ms=now_ms()
        )
        created, _ = store.create_execution(rec, {"type": START})
        ids.append(created.id)
    return ids


def _wait_all(store: Store, ids: list[int], timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    pending = list(ids)
    while pending:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(pending)} executions still running")
        pending = [i for i in pending if not store.get_execution_by_id(i).ended]
        if pending:
            time.sleep(0.02)  # a benchmark may poll; tests never do


def _functions_dir(root: Path) -> Path:
    d = root / "functions" / "bench"
    d.mkdir(parents=True)
    (d / "echo.py").write_text(ECHO)
    (d / "tokensink.py").write_text(TOKEN.format(path=str(root / "tokens.txt")))
    return root / "functions"


def bench_pass20(store: Store, n: int) -> dict[str, Any]:
    _flow(store, "pass20", PASS20)
    with Runtime(store, signer=load_signer(store)):
        t0 = time.perf_counter()
        ids = _start(store, "pass20", PASS20, n)
        _wait_all(store, ids)
        dt = time.perf_counter() - t0
    ok = sum(store.get_execution_by_id(i).status == "Succeeded" for i in ids)
    return {"executions": n, "succeeded": ok, "seconds": round(dt, 3), "transitions_per_s": round(n * 20 / dt)}


def bench_fn5(store: Store, n: int, functions: Path) -> dict[str, Any]:
    _flow(store, "fn5", FN5)
    with Runtime(store, signer=load_signer(store), functions_dir=functions, workers=4):
        t0 = time.perf_counter()
        ids = _start(store, "fn5", FN5, n)
        _wait_all(store, ids)
        dt = time.perf_counter() - t0
    ok = sum(store.get_execution_by_id(i).status == "Succeeded" for i in ids)
    return {"executions": n, "succeeded": ok, "seconds": round(dt, 3), "executions_per_s": round(n / dt, 1)}


def bench_wait1s(store: Store, n: int) -> dict[str, Any]:
    _flow(store, "wait1s", WAIT1S)
    with Runtime(store, signer=load_signer(store), workers=2):
        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=4) as clients:  # started as through the API, by a few clients
            ids = [i for part in clients.map(lambda _: _start(store, "wait1s", WAIT1S, n // 4), range(4)) for i in part]
        created = time.perf_counter() - t0
        _wait_all(store, ids)
        dt = time.perf_counter() - t0
    ok = sum(store.get_execution_by_id(i).status == "Succeeded" for i in ids)
    return {"executions": len(ids), "succeeded": ok, "created_s": round(created, 3), "all_ended_s": round(dt, 3)}


def bench_callback(store: Store, n: int, functions: Path, tokens_file: Path) -> dict[str, Any]:
    _flow(store, "callback", CALLBACK)
    signer = load_signer(store)
    latencies: list[float] = []
    with Runtime(store, signer=signer, functions_dir=functions, workers=2):
        for _ in range(n):
            (ex_id,) = _start(store, "callback", CALLBACK, 1)
            token = _next_token(tokens_file)
            _, _, task_key = signer.parse(token)
            _wait_submitted(store, ex_id)
            t0 = time.time() * 1000
            assert store.complete_task(ex_id, task_key, TaskSucceeded(task_key=task_key, output={}).to_dict())
            latencies.append(_step_entered_ms(store, ex_id, "after") - t0)
    latencies.sort()
    return {
        "samples": n,
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 2),
    }


def _next_token(path: Path, timeout_s: float = 10) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        lines = path.read_text().splitlines() if path.exists() else []
        if lines:
            path.write_text("")
            return lines[-1]
        time.sleep(0.001)
    raise TimeoutError("no token")


def _wait_submitted(store: Store, ex_id: int, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(h.type == "TaskSubmitted" for h in store.get_history(ex_id)):
            return
        time.sleep(0.001)
    raise TimeoutError("task never submitted")


def _step_entered_ms(store: Store, ex_id: int, step: str, timeout_s: float = 10) -> float:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for h in store.get_history(ex_id):
            if h.type == "StepEntered" and h.step_name == step:
                return time.time() * 1000  # when the committed step became visible to a reader
        time.sleep(0.0005)
    raise TimeoutError(f"{step} never entered")


def run(backends: dict[str, str], quick: bool = False) -> dict[str, Any]:
    """Run every workflow benchmark on each backend URL; returns the figures by backend."""
    results: dict[str, Any] = {}
    for label, url in backends.items():
        with tempfile.TemporaryDirectory(prefix="tidegate-bench-") as tmp:
            root = Path(tmp)
            functions = _functions_dir(root)
            res: dict[str, Any] = {}
            suites: list[tuple[str, Callable[[Store], dict[str, Any]]]] = [
                ("pass20", partial(bench_pass20, n=200 if quick else 1000)),
                ("fn5", partial(bench_fn5, n=100 if quick else 500, functions=functions)),
                ("wait1s", partial(bench_wait1s, n=200 if quick else 1000)),
                (
                    "callback",
                    partial(
                        bench_callback, n=50 if quick else 200, functions=functions, tokens_file=root / "tokens.txt"
                    ),
                ),
            ]
            for name, fn in suites:
                store_url = url.format(tmp=tmp, schema=f"bench_{uuid.uuid4().hex[:8]}")
                store = open_store(store_url)
                try:
                    res[name] = fn(store)
                finally:
                    store.close()
                    if store_url.startswith("postgres"):
                        drop_schema(store_url)
                print(f"  {label:8} {name:9} {json.dumps(res[name])}", flush=True)
            results[label] = res
    return results
