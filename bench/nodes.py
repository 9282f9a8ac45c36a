"""Servers sharing one PostgreSQL: what each added server costs per execution.

The callback round trip of ``bench/callback.py`` (the first source document's flow and worker loop, official
SDKs in their own environment) on 1, 2 and 3 ``tidegate server`` processes sharing one PostgreSQL schema.
The starter (4 threads, ``burst``) talks to node 1. Two placements of the 8 workers: ``first``, all on node 1
(the other nodes run with no client: what an idle server costs), and ``spread``, worker *i* on node *i* mod
*k* (as behind a load balancer). Rounds alternate between 1, 2 and 3 nodes and the placements (the order
reversed every other round), so that they are compared in the same period of this shared machine; the
nodes that are not part of a round are stopped.

Per round: executions/s (``N / (last stop - first start)``, read from the store) and the CPU the round cost,
per execution: every running server process (``/proc``) plus every PostgreSQL backend connected by those
servers (found by the ``application_name`` the store URL gives them, CPU from ``/proc`` as well: the
database runs on this machine). PostgreSQL's own background processes (WAL writer, checkpointer) are not
counted: they are shared with everything else that runs on this database.

Run: ``python -m bench nodes [--quick]`` (PostgreSQL only; ``TIDEGATE_BENCH_PG`` names the database).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from tests.server import TEST_KEYS, ServerProcess

from bench.callback import FLOW, FLOW_FILE, QUEUE, _await_ended, _times
from bench.mq import Driver, driver_cmd, driver_env, drop_schema, run_drivers, server_cpu_s

NODES = (1, 2, 3)
PLACEMENTS = ("first", "spread")
ROUNDS = 3
WORKERS = 8


def _proc_cpu_s(pid: int) -> float | None:
    """CPU seconds (user + system) of process ``pid`` so far, or None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pg_backend_cpu(base_url: str, application_name: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend whose ``application_name`` is the given one."""
    import psycopg

    with psycopg.connect(base_url, autocommit=True) as conn:
        pids = [
            int(r[0])
            for r in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (application_name,)
            ).fetchall()
        ]
    out = {}
    for pid in pids:
        cpu = _proc_cpu_s(pid)
        if cpu is not None:
            out[pid] = cpu
    return out


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


class Cluster:
    """Up to three servers on one PostgreSQL schema; ``use(k)`` leaves exactly the first ``k`` running."""

    def __init__(self, tmp: Path, url: str) -> None:
        self.url = url
        self.servers = [
            ServerProcess(tmp / f"n{i + 1}", env=dict(TEST_KEYS), args=["--store", url]) for i in range(max(NODES))
        ]
        self.running = [False] * len(self.servers)

    def use(self, k: int) -> list[ServerProcess]:
        for i, srv in enumerate(self.servers):
            if i < k and not self.running[i]:
                srv.start(timeout_s=60)
                self.running[i] = True
            elif i >= k and self.running[i]:
                srv.stop()
                self.running[i] = False
        return self.servers[:k]

    def stop(self) -> None:
        for i, srv in enumerate(self.servers):
            if self.running[i]:
                srv.stop()
                self.running[i] = False


def _round(
    cluster: Cluster, k: int, placement: str, base: str, app: str, tmp: Path, prefix: str, n: int
) -> dict[str, Any]:
    nodes = cluster.use(k)
    stop = tmp / f"stop-{prefix}"
    limit_s = 60 + n / 5
    load_before = os.getloadavg()[0]
    pg0 = pg_backend_cpu(base, app)
    cpu0 = [server_cpu_s(s) for s in nodes]
    worker = driver_cmd("worker", "callback_client.py", "worker", QUEUE, stop, time.time() + limit_s)
    procs = [Driver(worker, driver_env(nodes[i % k if placement == "spread" else 0])) for i in range(WORKERS)]
    starter = driver_cmd("worker", "callback_client.py", "start", FLOW, prefix, n, "burst")
    try:
        (started,) = run_drivers([starter], driver_env(nodes[0]), limit_s)
        _await_ended(cluster.url, time.monotonic() + limit_s)
    finally:
        stop.touch()
    results = [proc.result(30) for proc in procs]
    per_node = [server_cpu_s(s) - c for s, c in zip(nodes, cpu0, strict=True)]
    pg1 = pg_backend_cpu(base, app)
    pg = sum(cpu - pg0.get(pid, 0.0) for pid, cpu in pg1.items())
    if sum(r["reported"] for r in results) != n:
        raise RuntimeError(f"{n} executions: {sum(r['reported'] for r in results)} reports")
    times = _times(cluster.url, started["names"])
    span_s = (max(t[2] for t in times) - min(t[0] for t in times)) / 1000
    ms = 1000 / len(times)
    return {
        "nodes": k,
        "workers_on": placement,
        "executions": len(times),
        "executions_per_s": round(len(times) / span_s, 1),
        "servers_cpu_ms_per_execution": round(sum(per_node) * ms, 2),
        "per_node_cpu_ms_per_execution": [round(c * ms, 2) for c in per_node],
        "postgres_cpu_ms_per_execution": round(pg * ms, 2),
        "total_cpu_ms_per_execution": round((sum(per_node) + pg) * ms, 2),
        "load_avg_1m": [round(load_before, 1), round(os.getloadavg()[0], 1)],
    }


def run(pg_url: str, quick: bool = False) -> dict[str, Any]:
    """Rounds of ``N`` callback executions on 1, 2 and 3 servers sharing one schema; figures per node count."""
    n = 100 if quick else 600
    schema = f"bench_nodes_{uuid.uuid4().hex[:8]}"
    app = f"tg-{schema}"
    base = pg_url.partition("?")[0]
    url = f"{base}?schema={schema}&application_name={app}"
    configs = [(k, p) for p in PLACEMENTS for k in NODES if k > 1 or p == PLACEMENTS[0]]  # 1 node: one placement
    rounds: dict[str, list[dict[str, Any]]] = {_label(k, p): [] for k, p in configs}
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tidegate-nodes-")))
        cluster = Cluster(tmp, url)
        stack.callback(drop_schema, url)
        stack.callback(cluster.stop)
        first = cluster.use(1)[0]
        run_drivers(
            [driver_cmd("worker", "callback_client.py", "setup", FLOW_FILE, FLOW, QUEUE)], driver_env(first), 60
        )
        for r in range(ROUNDS):
            for k, p in configs if r % 2 == 0 else list(reversed(configs)):
                res = _round(cluster, k, p, base, app, tmp, f"r{r}-k{k}-{p}", n)
                rounds[_label(k, p)].append(res)
                print(f"  {_label(k, p):20} {json.dumps(res)}", flush=True)
    out: dict[str, Any] = {}
    one = _median([r["total_cpu_ms_per_execution"] for r in rounds[_label(1, PLACEMENTS[0])]])
    for label, done in rounds.items():
        total = _median([r["total_cpu_ms_per_execution"] for r in done])
        out[label] = {
            "executions_per_s_median": _median([r["executions_per_s"] for r in done]),
            "total_cpu_ms_per_execution_median": total,
            "servers_cpu_ms_per_execution_median": _median([r["servers_cpu_ms_per_execution"] for r in done]),
            "postgres_cpu_ms_per_execution_median": _median([r["postgres_cpu_ms_per_execution"] for r in done]),
            "idle_node_cpu_ms_per_execution_median": _median(
                [c for r in done for c in r["per_node_cpu_ms_per_execution"][1:]] or [0.0]
            )
            if done[0]["workers_on"] == "first" and done[0]["nodes"] > 1
            else None,
            "total_cpu_vs_one_node": round(total / one, 2) if one else None,
            "rounds": done,
        }
    return out


def _label(k: int, placement: str) -> str:
    return "1 node" if k == 1 else f"{k} nodes, workers {'on node 1' if placement == 'first' else 'spread'}"


def table(results: dict[str, Any]) -> str:
    """A Markdown table of :func:`run`'s medians."""
    lines = [
        "| servers | executions/s | CPU ms per execution: total | servers | PostgreSQL backends "
        "| each idle server | total ÷ 1 node |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, r in results.items():
        idle = r["idle_node_cpu_ms_per_execution_median"]
        lines.append(
            f"| {label} | {r['executions_per_s_median']} | {r['total_cpu_ms_per_execution_median']} | "
            f"{r['servers_cpu_ms_per_execution_median']} | {r['postgres_cpu_ms_per_execution_median']} | "
            f"{'' if idle is None else idle} | {r['total_cpu_vs_one_node']} |"
        )
    return "\n".join(lines)
