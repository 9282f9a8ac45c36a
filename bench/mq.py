"""Message-service benchmarks: a real ``tidegate server`` process driven by the official ``aliyun-mns-sdk`` 1.3.0.

Each backend gets its own server process (SQLite file, or a fresh PostgreSQL schema dropped afterwards);
every client is a separate process running ``bench/drivers/mq_client.py`` in the SDK's virtual environment
(``.venvs/mns130``, built by ``tests.sdkenv`` on first use).

* ``cycle``: messages/s through send + receive + delete, one message per call and in batches of 16, with 1
  and 8 client processes on one queue (each client loops send → receive (long poll 1 s) → delete).
* ``wake``: long-poll wake latency: a receiver blocked in a long poll on an empty queue, a sender in another
  process sends; latency = from just before the send to the receiver's return (``time.time()`` in both).

Run: ``python -m bench mq [--quick] [--backend sqlite]``.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from tests.sdkenv import ensure_env
from tests.server import TEST_KEYS, ServerProcess

DRIVERS = Path(__file__).parent / "drivers"
#: Configurations of the cycle benchmark: (label, batch size, client processes).
CYCLES = (("single-1", 1, 1), ("batch16-1", 16, 1), ("single-8", 1, 8), ("batch16-8", 16, 8))


def pct(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile ``p`` (0 to 100) of ``values``, rounded to 0.01."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return round(ordered[rank - 1], 2)


def server_cpu_s(srv: ServerProcess) -> float:
    """CPU seconds (user + system) the server process has used so far (Linux ``/proc``).

    Throughput on a shared machine moves with the other load; the server's CPU time per message moves
    much less, so the benchmarks report both.
    """
    assert srv.proc is not None
    fields = Path(f"/proc/{srv.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drop_schema(url: str) -> None:
    """Drop the ``?schema=`` of a PostgreSQL store URL and everything in it."""
    import psycopg

    base, _, query = url.partition("?")
    schema = dict(kv.split("=", 1) for kv in query.split("&") if "=" in kv)["schema"]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@contextmanager
def bench_server(
    url_template: str, *, args: Sequence[str] = (), **extra_env: str
) -> Iterator[tuple[ServerProcess, str]]:
    """A ``tidegate server`` on a store from ``url_template`` (``{tmp}``, ``{schema}``); yields it and the URL.

    ``args`` are further server options (``--no-metrics``…). The process is stopped (SIGTERM) at the end; a
    PostgreSQL schema is dropped.
    """
    with tempfile.TemporaryDirectory(prefix="tidegate-bench-") as tmp:
        url = url_template.format(tmp=tmp, schema=f"bench_{uuid.uuid4().hex[:8]}")
        srv = ServerProcess(Path(tmp) / "data", env={**TEST_KEYS, **extra_env}, args=["--store", url, *args])
        try:
            srv.start(timeout_s=60)
            yield srv, url
        finally:
            srv.stop()
            if url.startswith("postgres"):
                drop_schema(url)


def driver_cmd(env_name: str, script: str, *args: object) -> list[str]:
    """The command line running ``bench/drivers/SCRIPT`` with SDK environment ``env_name``'s interpreter."""
    return [str(ensure_env(env_name).python), str(DRIVERS / script), *map(str, args)]


def driver_env(srv: ServerProcess, **extra: str) -> dict[str, str]:
    """A minimal environment for a driver: the project's venv must not leak into the SDK's."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")}
    env.update(PYTHONDONTWRITEBYTECODE="1", MNS_URL=srv.url, ENDPOINT=srv.endpoint, **extra)
    env.update(AK=TEST_KEYS["TIDEGATE_ACCESS_KEY_ID"], SK=TEST_KEYS["TIDEGATE_ACCESS_KEY_SECRET"])
    return env


class Driver:
    """A driver process whose output goes to files (the SDKs print on their own: a pipe nobody reads fills).

    Args:
        cmd: its command line (:func:`driver_cmd`).
        env: its environment (:func:`driver_env`).
    """

    def __init__(self, cmd: list[str], env: dict[str, str]) -> None:
        self.cmd = cmd
        self._out = tempfile.TemporaryFile("w+")
        self._err = tempfile.TemporaryFile("w+")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self._out, stderr=self._err, text=True)

    def result(self, timeout_s: float) -> dict[str, Any]:
        """Wait for the process and return its last ``RESULT`` JSON; kill it after ``timeout_s``.

        Raises:
            RuntimeError: it failed, printed no result or timed out (with the end of its output).
        """
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
        self._out.seek(0)
        self._err.seek(0)
        out, err = self._out.read(), self._err.read()
        self._out.close()
        self._err.close()
        lines = [ln for ln in out.splitlines() if ln.startswith("RESULT ")]
        if self.proc.returncode != 0 or not lines:
            tail = "\n".join(out.splitlines()[-20:])
            raise RuntimeError(f"driver {self.cmd} failed ({self.proc.returncode}):\n{tail}\n{err[-3000:]}")
        result: dict[str, Any] = json.loads(lines[-1][len("RESULT ") :])
        return result

    def kill(self) -> None:
        """SIGKILL the process if it still runs, and reap it."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def run_drivers(cmds: Sequence[list[str]], env: dict[str, str], timeout_s: float) -> list[dict[str, Any]]:
    """Run driver processes concurrently; return each one's ``RESULT`` JSON (all within ``timeout_s``)."""
    drivers = [Driver(c, env) for c in cmds]
    deadline = time.monotonic() + timeout_s
    try:
        return [d.result(max(0.1, deadline - time.monotonic())) for d in drivers]
    finally:
        for d in drivers:  # only on error: never leave a client running
            d.kill()


def bench_cycle(srv: ServerProcess, queue: str, batch: int, clients: int, duration_s: float) -> dict[str, Any]:
    """Messages/s through send + receive + delete with ``clients`` processes and ``batch`` messages per call."""
    start_at = time.time() + 1.2  # time for every client process to import the SDK before the barrier
    cmd = driver_cmd("mns130", "mq_client.py", "cycle", queue, batch, start_at, duration_s)
    cpu0 = server_cpu_s(srv)
    res = run_drivers([cmd] * clients, driver_env(srv), timeout_s=duration_s + 60)
    cpu = server_cpu_s(srv) - cpu0  # includes the clients' start-up wait, when the server idles
    messages = sum(r["messages"] for r in res)
    seconds = max(r["seconds"] for r in res)
    return {
        "clients": clients,
        "batch": batch,
        "messages": messages,
        "msgs_per_s": round(messages / seconds),
        "server_cpu_ms_per_msg": round(cpu * 1000 / max(messages, 1), 3),
    }


def bench_wake(srv: ServerProcess, queue: str, samples: int) -> dict[str, Any]:
    """Long-poll wake latency percentiles over ``samples`` sends."""
    cmd = driver_cmd("mns130", "mq_client.py", "wake", queue, samples)
    (res,) = run_drivers([cmd], driver_env(srv), timeout_s=samples + 60)
    lat: list[float] = res["latencies_ms"]
    return {"samples": len(lat), "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99), "max_ms": round(max(lat), 2)}


def run(backends: dict[str, str], quick: bool = False) -> dict[str, Any]:
    """Run the message-service benchmarks on each backend URL template; returns the figures by backend.

    Every backend's server runs for the whole suite and each figure is measured on every backend in turn,
    so that backends are compared in the same period of this machine (its speed drifts by ±25 %).
    """
    duration = 1.0 if quick else 10.0
    samples = 30 if quick else 400
    results: dict[str, Any] = {label: {"load_avg_1m_before": round(os.getloadavg()[0], 2)} for label in backends}
    with ExitStack() as stack:
        servers = {label: stack.enter_context(bench_server(template))[0] for label, template in backends.items()}
        queues = [f"bench-{name}" for name, _, _ in CYCLES] + ["bench-wake"]
        for srv in servers.values():
            run_drivers([driver_cmd("mns130", "mq_client.py", "create", *queues)], driver_env(srv), 60)
        for name, batch, clients in CYCLES:
            for label, srv in servers.items():
                res = results[label][name] = bench_cycle(srv, f"bench-{name}", batch, clients, duration)
                print(f"  {label:13} {name:10} {json.dumps(res)}", flush=True)
        for label, srv in servers.items():
            res = results[label]["wake"] = bench_wake(srv, "bench-wake", samples)
            print(f"  {label:13} {'wake':10} {json.dumps(res)}", flush=True)
    return results
