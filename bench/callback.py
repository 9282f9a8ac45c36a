"""The callback round trip of the first source document, against a real ``tidegate server`` process.

The flow is ``examples/queue-callback/flow.yaml`` verbatim: a waitForCallback task step sends its token to
the queue ``fnf-demo`` (in the transaction of the step's transition). Workers are separate processes running
``bench/drivers/callback_client.py`` in the ``worker`` environment (aliyun-mns 1.1.5 + aliyunsdkcore +
aliyunsdkfnf): the first document's worker loop (long poll, ``ReportTaskSucceeded`` through the RPC API,
delete the message). Executions are started through the RPC API (StartExecution) by another such process.

* ``latency``: one worker; executions started one at a time (each awaited). Per execution, from the
  ``TaskSubmitted`` event (the message was sent in that event's transaction) to the execution's stop time,
  both as the server recorded them (ms resolution): p50/p99. Also from StartExecution to stop.
* ``throughput``: 8 worker processes; N executions started back to back; executions/s = N / (last stop time
  - first start time); three rounds on the same server, reported with their median and range. The
  benchmark learns that they ended from the store (every 50 ms), not through DescribeExecution; ``_times``
  then checks that every one succeeded. Both sides' CPU per execution is reported too (server: /proc;
  clients: their own loops' ``os.times()``).

Run: ``python -m bench callback [--quick] [--backend sqlite]``; ``python -m bench metrics`` compares the
figures with metrics on, off (``--no-metrics``) and on with JSON logs (:func:`run_metrics_cost`).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from tests.server import ServerProcess

from bench.mq import Driver, bench_server, driver_cmd, driver_env, pct, run_drivers, server_cpu_s
from tidegate.status import ACTIVE
from tidegate.store import open_store

FLOW_FILE = Path(__file__).resolve().parent.parent / "examples" / "queue-callback" / "flow.yaml"
FLOW, QUEUE = "bench-callback", "fnf-demo"  # the queue the example flow names
#: Throughput rounds per backend: the figure is their median (this shared machine's speed drifts by ±15 %).
ROUNDS = 3


def _times(url: str, names: list[str]) -> list[tuple[int, int, int]]:
    """(started, task submitted, stopped) ms of each execution, read from the server's store."""
    store = open_store(url)
    try:
        out = []
        for name in names:
            ex = store.get_execution(FLOW, name)
            if ex.status != "Succeeded" or ex.stopped_ms is None:
                raise RuntimeError(f"execution {name} ended {ex.status}")
            submitted = next(h.time_ms for h in store.get_history(ex.id) if h.type == "TaskSubmitted")
            out.append((ex.started_ms, submitted, ex.stopped_ms))
        return out
    finally:
        store.close()


def _await_ended(url: str, deadline: float) -> None:
    """Wait until no execution of the flow is starting or running (the starter has created all of them)."""
    store = open_store(url)
    try:
        while time.monotonic() < deadline:
            if not any(store.list_executions(FLOW, status=s, limit=1).items for s in ACTIVE):
                return
            time.sleep(0.05)  # polling a condition (every execution ended) within a deadline
        raise RuntimeError("the executions did not end in time")
    finally:
        store.close()


def _round(
    srv: ServerProcess, url: str, tmp: Path, prefix: str, n: int, workers: int, mode: str
) -> tuple[list[Any], float]:
    """Run ``workers`` worker processes while a starter process runs ``n`` executions.

    Returns:
        The executions' times, and the CPU seconds the client processes spent in their loops.
    """
    stop = tmp / f"stop-{prefix}"
    env = driver_env(srv)
    # Every process is bounded: the workers stop at STOP_FILE or this deadline, the starter within it.
    limit_s = 60 + n / 5
    worker = driver_cmd("worker", "callback_client.py", "worker", QUEUE, stop, time.time() + limit_s)
    procs = [Driver(worker, env) for _ in range(workers)]
    starter = driver_cmd("worker", "callback_client.py", "start", FLOW, prefix, n, mode)
    try:
        (started,) = run_drivers([starter], env, limit_s)
    except BaseException:
        for proc in procs:
            proc.kill()
        raise
    if mode == "burst":
        _await_ended(url, time.monotonic() + limit_s)
    stop.touch()  # the workers notice within one long poll (1 s) and report
    results = [proc.result(30) for proc in procs]
    reported = sum(r["reported"] for r in results)
    if reported != n:
        raise RuntimeError(f"{n} executions: {reported} reports")
    client_cpu_s = started["cpu_s"] + sum(r["cpu_s"] for r in results)
    return _times(url, started["names"]), client_cpu_s


def run(backends: dict[str, str], quick: bool = False) -> dict[str, Any]:
    """Run the callback benchmarks on each backend URL template; returns the figures by backend.

    Every backend's server runs for the whole suite and the throughput rounds alternate between backends,
    so that they are compared in the same period of this machine (its speed drifts by ±25 %).
    """
    n_latency = 30 if quick else 300
    n_throughput = 100 if quick else 2000
    results: dict[str, Any] = {label: {"load_avg_1m_before": round(os.getloadavg()[0], 2)} for label in backends}
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tidegate-cb-")))
        servers = {label: stack.enter_context(bench_server(template)) for label, template in backends.items()}
        for label, (srv, url) in servers.items():
            run_drivers(
                [driver_cmd("worker", "callback_client.py", "setup", FLOW_FILE, FLOW, QUEUE)], driver_env(srv), 60
            )
            times, _ = _round(srv, url, tmp, f"{label}-lat", n_latency, 1, "seq")
            send_to_stop = [stop - sub for _, sub, stop in times]
            start_to_stop = [stop - start for start, _, stop in times]
            res = results[label]["latency_1_worker"] = {
                "samples": len(times),
                "p50_ms": pct(send_to_stop, 50),
                "p99_ms": pct(send_to_stop, 99),
                "start_to_stop_p50_ms": pct(start_to_stop, 50),
                "start_to_stop_p99_ms": pct(start_to_stop, 99),
            }
            print(f"  {label:13} latency    {json.dumps(res)}", flush=True)
        rounds: dict[str, list[dict[str, Any]]] = {label: [] for label in backends}
        for i in range(ROUNDS):
            for label, (srv, url) in servers.items():
                rounds[label].append(_throughput(srv, url, tmp, f"{label}-tp{i}", n_throughput))
                print(f"  {label:13} throughput {json.dumps(rounds[label][-1])}", flush=True)
        for label, done in rounds.items():
            rates = sorted(r["executions_per_s"] for r in done)
            results[label]["throughput_8_workers"] = {
                "rounds": done,
                "executions_per_s_median": rates[len(rates) // 2],
                "executions_per_s_range": [rates[0], rates[-1]],
            }
    return results


#: The server variants of the metrics-cost comparison: label -> extra ``tidegate server`` options.
METRICS_VARIANTS = {
    "metrics on": (),
    "metrics off": ("--no-metrics",),
    "metrics on, JSON logs": ("--log-format", "json"),
}


def run_metrics_cost(url_template: str, quick: bool = False) -> dict[str, Any]:
    """The callback figures with metrics on, off, and on with JSON logs: one server each, on one backend.

    All three servers run for the whole suite; the latency runs and then the throughput rounds alternate
    between them, so that they are compared in the same period of this machine.
    """
    n_latency = 30 if quick else 200
    n_throughput = 100 if quick else 1000
    results: dict[str, Any] = {label: {} for label in METRICS_VARIANTS}
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tidegate-cb-metrics-")))
        servers = {
            label: stack.enter_context(bench_server(url_template, args=args))
            for label, args in METRICS_VARIANTS.items()
        }
        for srv, _ in servers.values():
            run_drivers(
                [driver_cmd("worker", "callback_client.py", "setup", FLOW_FILE, FLOW, QUEUE)], driver_env(srv), 60
            )
        rounds: dict[str, list[dict[str, Any]]] = {label: [] for label in METRICS_VARIANTS}
        latencies: dict[str, list[int]] = {label: [] for label in METRICS_VARIANTS}
        for i in range(ROUNDS):
            for v, (label, (srv, url)) in enumerate(servers.items()):
                times, _ = _round(srv, url, tmp, f"m{i}-lat-v{v}", n_latency, 1, "seq")
                latencies[label] += [stop - sub for _, sub, stop in times]
            for v, (label, (srv, url)) in enumerate(servers.items()):
                rounds[label].append(_throughput(srv, url, tmp, f"m{i}-tp-v{v}", n_throughput))
                print(f"  {label:22} throughput {json.dumps(rounds[label][-1])}", flush=True)
        for label, done in rounds.items():
            rates = sorted(r["executions_per_s"] for r in done)
            cpu = sorted(r["server_cpu_ms_per_execution"] for r in done)
            results[label] = {
                "executions_per_s_median": rates[len(rates) // 2],
                "executions_per_s_range": [rates[0], rates[-1]],
                "server_cpu_ms_per_execution_median": cpu[len(cpu) // 2],
                "latency_p50_ms": pct(latencies[label], 50),
                "latency_p99_ms": pct(latencies[label], 99),
                "rounds": done,
            }
    return results


def metrics_cost_table(results: dict[str, Any]) -> str:
    """A Markdown table of :func:`run_metrics_cost`'s figures, each beside the metrics-off server's."""
    off = results["metrics off"]
    lines = ["| figure | " + " | ".join(METRICS_VARIANTS) + " |", "|---" * (len(METRICS_VARIANTS) + 1) + "|"]
    rows = (
        ("callback: executions/s, 8 workers, median of 3 rounds", "executions_per_s_median"),
        ("callback: server CPU per execution, ms (median)", "server_cpu_ms_per_execution_median"),
        ("callback: 1 worker, message sent → execution stopped, p50 ms", "latency_p50_ms"),
        ("callback: 1 worker, message sent → execution stopped, p99 ms", "latency_p99_ms"),
    )
    for what, key in rows:
        cells = []
        for label in METRICS_VARIANTS:
            v, base = results[label][key], off[key]
            cells.append(f"{v:,}" if label == "metrics off" or not base else f"{v:,} ({v / base:.0%})")
        lines.append(f"| {what} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _throughput(srv: ServerProcess, url: str, tmp: Path, prefix: str, n: int) -> dict[str, Any]:
    """One throughput round: ``n`` executions through 8 workers, and the CPU both sides spent on them."""
    cpu0 = server_cpu_s(srv)
    times, client_cpu = _round(srv, url, tmp, prefix, n, 8, "burst")
    cpu = server_cpu_s(srv) - cpu0  # includes the workers' last idle poll
    span_s = (max(t[2] for t in times) - min(t[0] for t in times)) / 1000
    out = {
        "executions": len(times),
        "seconds": round(span_s, 2),
        "executions_per_s": round(len(times) / span_s, 1),
        "server_cpu_ms_per_execution": round(cpu * 1000 / len(times), 2),
        "client_cpu_ms_per_execution": round(client_cpu * 1000 / len(times), 2),
    }
    return out
