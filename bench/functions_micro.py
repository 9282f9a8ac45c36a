"""Micro-benchmark of the function runtime: invocations per second of a trivial handler.

Run: ``.venv/bin/python bench/functions_micro.py [--seconds 3]``. Prints the rate with 1 and 4
concurrent callers (threads calling ``FunctionRunner.invoke``) and the mean latency of one call.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

from tidegate.functions import Credentials, FunctionRunner, FunctionSpec, InvocationContext

HANDLER = "def handler(event, context):\n    return event\n"


def measure(runner: FunctionRunner, spec: FunctionSpec, callers: int, seconds: float) -> tuple[int, float]:
    """Run ``callers`` threads invoking ``spec`` for ``seconds``; return (invocations, elapsed)."""
    ctx = InvocationContext(region="cn-hangzhou", credentials=Credentials("ak", "secret", "token"))
    counts = [0] * callers
    failures: list[str] = []
    stop = threading.Event()

    def call(slot: int) -> None:
        while not stop.is_set():
            result = runner.invoke(spec, b'{"n": 1}', ctx)
            if not result.ok:
                failures.append(f"{result.error_type}: {result.error_message}")
                return
            counts[slot] += 1

    threads = [threading.Thread(target=call, args=(i,)) for i in range(callers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    stop.wait(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(f"invocation failed: {failures[0]}")
    return sum(counts), time.perf_counter() - started


def main() -> None:
    """Print invocations/s for 1 and 4 concurrent callers."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        code_dir = Path(tmp) / "bench"
        code_dir.mkdir()
        (code_dir / "index.py").write_text(HANDLER)
        spec = FunctionSpec(service="bench", name="echo", code_dir=code_dir)
        print(f"machine: {os.cpu_count()} CPUs; trivial handler returning its event")
        for callers in (1, 4):
            with FunctionRunner(workers=callers) as runner:
                measure(runner, spec, callers, 0.3)  # start and warm the workers
                count, elapsed = measure(runner, spec, callers, args.seconds)
            rate = count / elapsed
            print(
                f"callers={callers} workers={callers}: {rate:8.0f} invocations/s, "
                f"{1000 * callers / rate:.3f} ms per call per caller"
            )


if __name__ == "__main__":
    main()
