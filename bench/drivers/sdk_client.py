"""Runs with the project's interpreter (tidegate.sdk needs httpx only); driven by ``bench/callback_sdk.py``.

The server comes from ``MNS_URL``; the key from ``AK``/``SK``. The last stdout line is ``RESULT <json>``.

* ``worker QUEUE STOP_FILE DEADLINE``: a :class:`tidegate.sdk.Worker` (default concurrency, 1 s long polls so
  that it notices ``STOP_FILE`` soon) whose handler returns the first document's output ``{"key": "value"}``.
* ``start FLOW PREFIX N``: start executions ``PREFIX-0`` … through the RPC API's StartExecution, 16 requests
  in flight, with the SDK's RPC client (cheap on the client side, so that the starter does not set the rate).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from tidegate.sdk import ClientConfig, Credentials, FnfClient, Transport, Worker

CONFIG = ClientConfig.from_env(
    endpoint=os.environ["MNS_URL"], credentials=Credentials(os.environ["AK"], os.environ["SK"])
)


def _cpu_s() -> float:
    t = os.times()
    return t.user + t.system


def handle(payload: Any) -> dict[str, str]:
    return {"key": "value"}


def worker(queue: str, stop_file: str, deadline: float) -> dict[str, Any]:
    w = Worker(queue, handle, config=CONFIG, wait_seconds=1, visibility_timeout=30)

    def watch() -> None:
        while not Path(stop_file).exists() and time.time() < deadline:
            time.sleep(0.05)  # polling the stop file the benchmark touches
        w.stop()

    threading.Thread(target=watch, daemon=True).start()
    cpu0 = _cpu_s()
    stats = w.run()
    return {
        "reported": stats.succeeded,
        "already_completed": stats.already_completed,
        "deleted": stats.deleted,
        "errors": stats.errors,
        "cpu_s": _cpu_s() - cpu0,
    }


async def _start(flow: str, names: list[str]) -> None:
    with Transport(16) as http:
        fnf = FnfClient(http, CONFIG)
        queue = list(names)

        async def starter() -> None:
            while queue:
                name = queue.pop()
                await fnf.call("StartExecution", {"FlowName": flow}, {"ExecutionName": name, "Input": "{}"})

        await asyncio.gather(*(starter() for _ in range(16)))


def start(flow: str, prefix: str, n: int) -> dict[str, Any]:
    cpu0 = _cpu_s()
    names = [f"{prefix}-{i}" for i in range(n)]
    t0 = time.time()
    asyncio.run(_start(flow, names))
    return {"names": names, "seconds": time.time() - t0, "cpu_s": _cpu_s() - cpu0}


def main() -> None:
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "worker":
        res = worker(args[0], args[1], float(args[2]))
    elif mode == "start":
        res = start(args[0], args[1], int(args[2]))
    else:
        raise SystemExit(f"unknown mode {mode}")
    print("RESULT " + json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
