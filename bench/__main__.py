"""``python -m bench [workflow ...] [--quick]``: run the benchmarks and print their figures as JSON lines."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

PG = os.environ.get("TIDEGATE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
#: ``sqlite`` acknowledges a write once it is on disk (synchronous=FULL, the default); ``sqlite-normal`` once
#: the OS has it (synchronous=NORMAL), for the table comparing the two.
BACKENDS = {
    "sqlite": "sqlite:///{tmp}/bench.db",
    "sqlite-normal": "sqlite:///{tmp}/bench.db?synchronous=normal",
    "postgres": PG + "?schema={schema}",
}


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
        cpu = model
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def durability_table(results: dict[str, Any]) -> str:
    """A Markdown table of the callback and message-service figures on SQLite FULL beside NORMAL."""
    rows: list[tuple[str, float, float]] = []
    cb = results.get("callback")
    if isinstance(cb, dict) and {"sqlite", "sqlite-normal"} <= cb.keys():
        full, normal = cb["sqlite"], cb["sqlite-normal"]
        rows.append(
            (
                "callback: executions/s, 8 workers (median of 3 rounds)",
                full["throughput_8_workers"]["executions_per_s_median"],
                normal["throughput_8_workers"]["executions_per_s_median"],
            )
        )
        for key, what in (("p50_ms", "p50"), ("p99_ms", "p99")):
            rows.append(
                (
                    f"callback: 1 worker, message sent → execution stopped, {what} ms",
                    full["latency_1_worker"][key],
                    normal["latency_1_worker"][key],
                )
            )
    mq = results.get("mq")
    if isinstance(mq, dict) and {"sqlite", "sqlite-normal"} <= mq.keys():
        full, normal = mq["sqlite"], mq["sqlite-normal"]
        for key, what in (
            ("single-1", "one message per call, 1 client"),
            ("single-8", "one message per call, 8 clients"),
            ("batch16-1", "batches of 16, 1 client"),
            ("batch16-8", "batches of 16, 8 clients"),
        ):
            if key in full and key in normal:
                rows.append((f"MNS: {what}, msgs/s", full[key]["msgs_per_s"], normal[key]["msgs_per_s"]))
        if "wake" in full and "wake" in normal:
            rows.append(("MNS: long-poll wake p99 ms", full["wake"]["p99_ms"], normal["wake"]["p99_ms"]))
    if not rows:
        return ""
    lines = ["| figure | FULL | NORMAL | FULL / NORMAL |", "|---|---|---|---|"]
    for what, f, n in rows:
        ratio = f"{f / n:.0%}" if n else "n/a"
        lines.append(f"| {what} | {f:,} | {n:,} | {ratio} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("suites", nargs="*", default=["workflow", "micro", "mq", "callback", "callback-sdk", "metrics"])
    parser.add_argument("--quick", action="store_true", help="smaller runs (a smoke test of the benchmarks)")
    parser.add_argument("--backend", action="append", choices=sorted(BACKENDS), help="default: all")
    args = parser.parse_args()
    backends = {k: v for k, v in BACKENDS.items() if not args.backend or k in args.backend}
    print(f"machine: {_machine()}", flush=True)
    results: dict[str, object] = {"machine": _machine()}
    if "workflow" in args.suites:
        from bench import workflow

        print("workflow:", flush=True)
        results["workflow"] = workflow.run(backends, quick=args.quick)
    for suite in ("mq", "callback"):  # the message-service and callback suites (bench/mq.py, bench/callback.py)
        if suite in args.suites:
            import importlib

            print(f"{suite}:", flush=True)
            results[suite] = importlib.import_module(f"bench.{suite}").run(backends, quick=args.quick)
    if "callback-sdk" in args.suites:  # 8 tidegate.sdk workers against 8 document-style ones (bench/callback_sdk.py)
        from bench import callback_sdk

        label = "sqlite" if "sqlite" in backends else next(iter(backends))
        print(f"callback-sdk ({label}):", flush=True)
        results["callback-sdk"] = callback_sdk.run({label: backends[label]}, quick=args.quick)
    if "metrics" in args.suites:  # the callback figures with metrics on, off, and JSON logs (bench/callback.py)
        from bench import callback

        label = "sqlite" if "sqlite" in backends else next(iter(backends))
        print(f"metrics ({label}):", flush=True)
        results["metrics"] = cost = callback.run_metrics_cost(backends[label], quick=args.quick)
        print(f"The cost of metrics on the callback figures ({label}), measured in alternation:", flush=True)
        print(callback.metrics_cost_table(cost), flush=True)
    if "micro" in args.suites:
        for script in sorted(Path(__file__).parent.glob("*_micro.py")):
            print(f"{script.stem}:", flush=True)
            subprocess.run([sys.executable, str(script)], check=False)
    table = durability_table(results)
    if table:
        print("SQLite synchronous=FULL (default) against NORMAL, measured in alternation:", flush=True)
        print(table, flush=True)
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
