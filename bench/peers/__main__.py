"""``python -m bench.peers [--quick] [--peer LABEL ...]``: the peers' table (``make bench-peers``)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from bench.__main__ import _machine
from bench.peers.run import PEERS, run, table


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.peers")
    parser.add_argument("--quick", action="store_true", help="20 sequential and 100 concurrent executions")
    parser.add_argument("--peer", action="append", choices=list(PEERS), help="default: all, in this order")
    parser.add_argument("--latency", type=int, default=200, help="sequential executions (default 200)")
    parser.add_argument("--throughput", type=int, default=1000, help="executions with 8 workers (default 1000)")
    parser.add_argument("--poll-ms", type=float, default=5.0, help="a client's polling where it cannot block")
    args = parser.parse_args()
    n_lat, n_tp = (20, 100) if args.quick else (args.latency, args.throughput)
    load = os.getloadavg()
    print(f"machine: {_machine()}; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}", flush=True)
    print(f"{n_lat} sequential executions, {n_tp} with 8 workers, per peer", flush=True)
    results = run(args.peer or list(PEERS), n_lat, n_tp, args.poll_ms / 1000)
    print(table(results), flush=True)
    out = Path(__file__).resolve().parent.parent / "out"
    out.mkdir(exist_ok=True)
    (out / "peers.json").write_text(json.dumps({"machine": _machine(), "peers": results}, indent=2))


if __name__ == "__main__":
    main()
