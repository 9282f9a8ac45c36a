"""``python -m bench [workflow ...] [--quick]``: run the benchmarks and print their figures as JSON lines."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

PG = os.environ.get("TIDEGATE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = {"sqlite": "sqlite:///{tmp}/bench.db", "postgres": PG + "?schema={schema}"}


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


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("suites", nargs="*", default=["workflow", "micro", "mq", "callback"])
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
    if "micro" in args.suites:
        for script in sorted(Path(__file__).parent.glob("*_micro.py")):
            print(f"{script.stem}:", flush=True)
            subprocess.run([sys.executable, str(script)], check=False)
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
