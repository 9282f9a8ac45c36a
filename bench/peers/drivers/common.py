# mypy: ignore-errors
"""Shared by the peer drivers (each runs in its peer's own environment: standard library only).

Every driver has the same three modes, so that ``bench/peers/run.py`` runs the same workload on each peer:

* ``setup``: create the peer's queue and flow (state machine, workflow…).
* ``worker STOP_FILE DEADLINE``: receive a task's token, report the task succeeded with ``{"key": "value"}``,
  until STOP_FILE exists or the epoch time DEADLINE passes. Result: ``reported``, ``report_times`` (epoch s
  taken just before each report is sent), ``cpu_s`` (the loop's own CPU).
* ``start PREFIX N seq|burst POLL_S``: start executions ``PREFIX-0`` …. ``seq``: one at a time, each awaited
  until its completion is visible to this client (the peer's blocking wait where it has one, else polling
  every POLL_S) before the next; result ``visible_times`` (epoch s), ``statuses``. ``burst``: all of them
  back to back from 4 threads, then wait (polling every 50 ms) until none runs; result ``times``: each
  execution's (status, start, stop) as the peer recorded them (epoch s).

The last stdout line is ``RESULT <json>``.
"""

import json
import os
import sys
import time


def cpu_s():
    t = os.times()
    return t.user + t.system


def wait_all(count_running, deadline):
    """Poll ``count_running()`` every 50 ms until it is 0; SystemExit past ``deadline`` (epoch s)."""
    while time.time() < deadline:
        if count_running() == 0:
            return
        time.sleep(0.05)  # polling a condition (no execution runs) within a deadline
    raise SystemExit("the executions did not end in time")


def main(hard_exit=False, **modes):
    """Run the mode named by argv[1] and print its result.

    ``hard_exit``: leave with ``os._exit(0)`` once the result is out (temporalio's native thread can crash
    the interpreter's finalisation, which would turn a finished run into a failed process).
    """
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "setup":
        res = modes["setup"](*args)
    elif mode in ("worker", "serve"):
        res = modes[mode](args[0], float(args[1]))
    elif mode == "start":
        res = modes["start"](args[0], int(args[1]), args[2], float(args[3]))
    else:
        raise SystemExit(f"unknown mode {mode}")
    print("RESULT " + json.dumps(res), flush=True)
    if hard_exit:
        sys.stderr.flush()
        os._exit(0)
