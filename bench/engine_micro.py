"""Micro-benchmark of the pure engine: pass steps per second (not a test).

Run: ``.venv/bin/python bench/engine_micro.py [seconds]``. Prints pass-steps/s for a flow of 20 pass
steps run by one ``start()`` call, and for the same 20 steps split across transitions (a wait between
steps, state round-tripped through JSON like the runtime stores it).
"""

from __future__ import annotations

import json
import sys
import time

from tidegate import engine
from tidegate.flow import load_flow

PASS_20 = "version: v1\ntype: flow\nsteps:\n" + "".join(
    f"  - {{type: pass, name: p{i}, outputMappings: [{{target: k{i}, source: $input.v}}]}}\n" for i in range(20)
)
WAITS_20 = "version: v1\ntype: flow\nsteps:\n" + "".join(
    f"  - {{type: wait, name: w{i}, duration: 1}}\n" for i in range(20)
)


def _mint(key: str) -> str:
    return "t" + key


def bench_single(seconds: float) -> float:
    flow = load_flow(PASS_20)
    steps = 0
    end = time.perf_counter() + seconds
    start = time.perf_counter()
    while time.perf_counter() < end:
        for _ in range(50):
            t = engine.start(flow, flow_name="f", execution_name="e", input={"v": 1}, now_ms=0, minter=_mint)
            assert t.status is engine.ExecutionStatus.SUCCEEDED
            steps += 20
    return steps / (time.perf_counter() - start)


def bench_transitions(seconds: float) -> float:
    flow = load_flow(WAITS_20)
    steps = 0
    end = time.perf_counter() + seconds
    start = time.perf_counter()
    while time.perf_counter() < end:
        t = engine.start(flow, flow_name="f", execution_name="e", input={"v": 1}, now_ms=0, minter=_mint)
        now = 0
        while t.status is engine.ExecutionStatus.RUNNING:
            timer = t.commands[-1]
            assert isinstance(timer, engine.StartTimer)
            now = timer.fire_at_ms
            state = engine.ExecutionState.from_dict(json.loads(json.dumps(t.state.to_dict())))
            t = engine.apply(flow, state, engine.TimerFired(timer.timer_key), now_ms=now, minter=_mint)
            steps += 1
    return steps / (time.perf_counter() - start)


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    print(f"pass steps/s, 20-pass flow in one start():        {bench_single(seconds):10,.0f}")
    print(f"step transitions/s, JSON state round trip each:    {bench_transitions(seconds):10,.0f}")


if __name__ == "__main__":
    main()
