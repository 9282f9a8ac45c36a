"""Micro-benchmark of the metrics' hooks: what counting adds to one request and to one commit.

Run: ``.venv/bin/python bench/metrics_micro.py [--n 100000]``. Prints microseconds per call of each hook
(best of 5 runs), then a request through the whole ASGI front door (an MNS request answered on its fast
path, and ``/healthz`` through Starlette) with metrics on and off, alternated.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tidegate import metrics
from tidegate.api.context import AppContext
from tidegate.api.front import _count
from tidegate.app import create_app
from tidegate.auth.keys import DEFAULT_ACCOUNT_ID, AccessKey, KeyKind, KeyRing
from tidegate.runtime.observe import TransitionMetrics
from tidegate.status import ExecutionStatus
from tidegate.store import HistoryWrite, TransitionWrite, open_store


def best_us(call: Callable[[], object], n: int) -> float:
    """The best of 5 runs of ``n`` calls, in microseconds per call."""
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(n):
            call()
        runs.append((time.perf_counter() - started) / n * 1e6)
    return min(runs)


def _callback_batch() -> list[TransitionWrite]:
    """The transition that ends a callback execution: task succeeded, step exited, execution succeeded."""
    kinds = ("TaskSucceeded", "StepExited", "ExecutionSucceeded")
    events = [HistoryWrite(event_id=5 + i, schedule_event_id=4 - i, type=k, time_ms=1000) for i, k in enumerate(kinds)]
    return [
        TransitionWrite(
            execution_id=1,
            expected_version=3,
            state={"flow_name": "f"},
            status=ExecutionStatus.SUCCEEDED,
            events=events,
        )
    ]


async def _request(app: Any, method: str, path: str) -> int:
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": b""}
    scope |= {"headers": [(b"host", b"bench")], "http_version": "1.1", "scheme": "http", "server": ("bench", 80)}
    await app(scope, receive, send)
    return status


def front_door_us(n: int) -> dict[str, tuple[float, float]]:
    """Microseconds per request with metrics on and off, for each request kind (alternated, best of 5)."""
    root = AccessKey(id="benchKeyId", secret="benchSecret", kind=KeyKind.ROOT, account_id=DEFAULT_ACCOUNT_ID)
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'm.db'}")
        try:
            app = create_app(AppContext(store=store, keyring=KeyRing(root)))
            kinds = {"MNS (405, fast path)": ("POST", "/queues/q"), "/healthz (Starlette)": ("GET", "/healthz")}
            out: dict[str, tuple[float, float]] = {}
            loop = asyncio.new_event_loop()
            try:
                for label, (method, path) in kinds.items():
                    best = {True: float("inf"), False: float("inf")}
                    for _ in range(5):
                        for on in (True, False):
                            metrics.set_enabled(on)
                            started = time.perf_counter()
                            for _ in range(n):
                                loop.run_until_complete(_request(app, method, path))
                            best[on] = min(best[on], (time.perf_counter() - started) / n * 1e6)
                    out[label] = (best[True], best[False])
            finally:
                metrics.set_enabled(True)
                loop.close()
        finally:
            store.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    args = parser.parse_args()
    n = args.n
    start = time.perf_counter()
    counted = best_us(lambda: _count("rpc", "StartExecution", 200, start), n)
    print(f"  a request counted (counter + histogram): {counted:.2f} µs")
    print(f"  a store write timed: {best_us(lambda: metrics.store_write_duration.observe(0.001), n):.2f} µs")
    observer, batch = TransitionMetrics(), _callback_batch()
    print(f"  a callback's last transition observed: {best_us(lambda: observer(batch), n):.2f} µs")
    for label, (on, off) in front_door_us(max(1, n // 20)).items():
        print(f"  {label}: {on:.1f} µs with metrics, {off:.1f} µs without (+{on - off:.1f} µs)")


if __name__ == "__main__":
    main()
