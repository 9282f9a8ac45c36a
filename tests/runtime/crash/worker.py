"""A runtime process for the crash tests: ``python -m tests.runtime.crash.worker --store URL --plan FILE``.

It registers the plan's flows, starts its executions (idempotently: running again on the same store
resumes them instead), and runs a :class:`tidegate.runtime.Runtime` until every planned execution has
ended, then exits 0. The tests SIGKILL it at chosen moments and start it again on the same store. The
leases are short so that a restarted process takes over a dead one's claims within a second or two.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import uuid
from pathlib import Path
from typing import Any

from tests.waiting import wait_until
from tidegate.clock import now_ms
from tidegate.flow import load_flow
from tidegate.functions import FunctionSpec, resolve_local_function
from tidegate.runtime import START, Runtime, load_signer
from tidegate.store import (
    ExecutionAlreadyExists,
    ExecutionRecord,
    FlowNotFound,
    FlowRecord,
    Store,
    open_store,
)

FUNCTION_TIMEOUT_S = 60.0
"""Longer than the hanging function of ``once.py`` runs: only the kill may end that invocation."""
#: A bound on waiting for the plan's executions (far above the parent test's own deadline).
WAIT_ALL_ENDED_S = 600.0


def _ensure_flows(store: Store, flows: dict[str, str]) -> None:
    now = now_ms()
    for name, definition in flows.items():
        load_flow(definition, source=name)  # refuse a bad plan here, not as a wedged execution
        try:
            store.get_flow(name)
        except FlowNotFound:
            record = FlowRecord(name=name, id=str(uuid.uuid4()), definition=definition, created_ms=now, modified_ms=now)
            store.create_flow(record)


def start_executions(store: Store, plan: dict[str, Any]) -> list[int]:
    """Create the plan's executions (resuming any that exist); return their ids."""
    _ensure_flows(store, plan["flows"])
    ids = []
    for e in plan["executions"]:
        record = ExecutionRecord(
            flow_name=e["flow"],
            name=e["name"],
            definition=plan["flows"][e["flow"]],
            input=json.dumps(e["input"], separators=(",", ":")),
            started_ms=now_ms(),
        )
        try:
            record, _ = store.create_execution(record, {"type": START})
        except ExecutionAlreadyExists:  # it ended before the previous process died
            record = store.get_execution(e["flow"], e["name"])
        ids.append(record.id)
    return ids


def _wait_all_ended(store: Store, ids: list[int]) -> None:
    """Until every execution ended (the parent test kills this process when it overruns its own deadline)."""
    pending = list(ids)

    def all_ended() -> bool:
        pending[:] = [i for i in pending if not store.get_execution_by_id(i).ended]
        return not pending

    # exec:<id> notifications are in-process only on SQLite: poll the store.
    wait_until(all_ended, timeout=WAIT_ALL_ENDED_S, interval=0.1, message="every execution to end")


def main(argv: list[str] | None = None) -> int:
    """Run the plan; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", required=True)
    parser.add_argument("--plan", required=True, type=Path)
    parser.add_argument("--functions", required=True, type=Path)
    parser.add_argument("--execution-lease-ms", type=int, default=1_000)
    parser.add_argument("--job-lease-ms", type=int, default=2_000)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    plan = json.loads(args.plan.read_text(encoding="utf-8"))
    functions: Path = args.functions

    def resolve(service: str, qualifier: str, function: str) -> FunctionSpec | None:
        if not (functions / service / f"{function}.py").is_file():
            return None
        return resolve_local_function(functions, service, function, timeout_s=FUNCTION_TIMEOUT_S)

    store = open_store(args.store)
    try:
        ids = start_executions(store, plan)
        runtime = Runtime(
            store,
            signer=load_signer(store),
            resolver=resolve,
            workers=args.workers,
            execution_lease_ms=args.execution_lease_ms,
            job_lease_ms=args.job_lease_ms,
        )
        with runtime:
            print("started", flush=True)
            _wait_all_ended(store, ids)
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
