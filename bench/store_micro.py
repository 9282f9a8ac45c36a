"""Micro-benchmark of the store's group commit (not a test).

Prints commits/s and transitions/s for batches of 1 and 50 transitions of 5 history events each (plus a
state write, the consumed-inbox delete and the lease release that every transition does), on SQLite with
``synchronous=full`` (the default) and ``normal`` and, when reachable, PostgreSQL; then the same batches of 1
from 8 threads at once, where SQLite's group commit lets concurrent writers share an fsync (the line shows
how many commits each WAL sync covered). Usage::

    .venv/bin/python bench/store_micro.py [--transitions 5000] [--pg postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from tidegate.status import ExecutionStatus
from tidegate.store import (
    ExecutionRecord,
    FlowRecord,
    HistoryWrite,
    Store,
    TransitionWrite,
    open_store,
)

EVENTS_PER_TRANSITION = 5


def _prepare(store: Store, executions: int) -> list[ExecutionRecord]:
    store.create_flow(FlowRecord(name="bench", id=str(uuid.uuid4()), definition="d", created_ms=1, modified_ms=1))
    records = []
    for i in range(executions):
        rec, _ = store.create_execution(
            ExecutionRecord(flow_name="bench", name=f"e{i}", definition="d", input="{}", started_ms=1),
            {"t": "S"},
        )
        records.append(rec)
    return records


def _transition(rec: ExecutionRecord, version: int) -> TransitionWrite:
    first = version * EVENTS_PER_TRANSITION + 1
    events = [
        HistoryWrite(
            event_id=i,
            schedule_event_id=i - 1,
            type="StepEntered",
            step_name=f"step{i}",
            time_ms=1,
            detail={"input": {"order": i, "items": ["a", "b", "c"]}},
        )
        for i in range(first, first + EVENTS_PER_TRANSITION)
    ]
    return TransitionWrite(
        execution_id=rec.id,
        expected_version=version,
        state={"pc": version + 1, "data": {"x": "y" * 200}},
        status=ExecutionStatus.RUNNING,
        events=events,
    )


def run(url: str, batch: int, total: int) -> tuple[float, float]:
    """Return (commits/s, transitions/s) for ``total`` transitions in batches of ``batch``."""
    store = open_store(url)
    try:
        records = _prepare(store, batch)
        versions = [0] * batch
        commits = total // batch
        t0 = time.perf_counter()
        for _ in range(commits):
            store.commit([_transition(r, versions[i]) for i, r in enumerate(records)])
            versions = [v + 1 for v in versions]
        elapsed = time.perf_counter() - t0
    finally:
        store.close()
    return commits / elapsed, commits * batch / elapsed


def run_threads(url: str, threads: int, total: int) -> tuple[float, float]:
    """Return (transitions/s, commits per WAL sync) for ``total`` single-transition commits from ``threads`` threads."""

    store = open_store(url)
    try:
        records = _prepare(store, threads)
        db = store.database
        commits0, syncs0 = getattr(db, "commits", 0), getattr(db, "syncs", 0)

        def work(rec: ExecutionRecord) -> None:
            for version in range(total // threads):
                store.commit([_transition(rec, version)])

        workers = [threading.Thread(target=work, args=(r,)) for r in records]
        t0 = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        elapsed = time.perf_counter() - t0
        syncs = getattr(db, "syncs", 0) - syncs0
        per_sync = (getattr(db, "commits", 0) - commits0) / syncs if syncs else 0.0
    finally:
        store.close()
    return (total // threads) * threads / elapsed, per_sync


def main() -> None:
    """Run the benchmark on each reachable backend and print one line per case."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transitions", type=int, default=5000)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    print(f"machine: {platform.machine()} {platform.processor() or ''} python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        targets: list[tuple[str, Callable[[str], str]]] = [
            ("sqlite", lambda case: f"sqlite:///{Path(tmp) / f'{case}.db'}"),
            ("sqlite-normal", lambda case: f"sqlite:///{Path(tmp) / f'{case}-n.db'}?synchronous=normal"),
        ]
        try:
            import psycopg

            with psycopg.connect(args.pg, connect_timeout=3):
                pass
            targets.append(("postgres", lambda case: f"{args.pg}?schema=bench_{case}_{uuid.uuid4().hex[:8]}"))
        except Exception as exc:
            print(f"postgres: skipped ({exc})")
        for name, make_url in targets:
            for batch in (1, 50):
                url = make_url(f"b{batch}")
                commits, transitions = run(url, batch, args.transitions)
                print(
                    f"{name:13s} batch={batch:3d}: {commits:8.0f} commits/s  {transitions:8.0f} transitions/s "
                    f"({EVENTS_PER_TRANSITION} events each)"
                )
                _drop(name, url, args.pg)
            if name.startswith("sqlite"):
                url = make_url("t8")
                transitions, per_sync = run_threads(url, 8, args.transitions)
                synced = f"{per_sync:.1f} commits per WAL sync" if per_sync else "no syncs"
                print(f"{name:13s} 8 threads, batch=1: {transitions:8.0f} transitions/s ({synced})")


def _drop(name: str, url: str, pg: str) -> None:
    if name == "postgres":
        import psycopg

        with psycopg.connect(pg, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{url.rsplit("=", 1)[1]}" CASCADE')


if __name__ == "__main__":
    main()
