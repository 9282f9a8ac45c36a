"""SIGKILL the server at random instants under a mixed load, on both backends, and check nothing broke.

Each round releases a batch of executions (callback, function and wait flows) and plain messages, and
kills the server once a random share of that batch's work has been acknowledged (a random instant chosen
by progress, never by a sleep); the server restarts at once on the same data folder / store. After the
last round the load finishes and the test checks, from the clients' ledger and the store:

* every started execution ended ``Succeeded`` with the output its flow computes;
* no task token was answered 200 twice, and each callback history has one ``TaskSucceeded``;
* every SendMessage acknowledged with 201 was received (none lost);
* no message was held by two receivers at once (visibility windows of one message never overlap);
* every history is dense (event ids 1..n, ``event_count`` = n).

CI runs 3 rounds and a few dozen executions per backend; ``make chaos`` runs the full form
(``TIDEGATE_CHAOS_ROUNDS``, ``TIDEGATE_CHAOS_EXECUTIONS``, ``TIDEGATE_CHAOS_SEED``). Figures go to the
terminal (``-s``) and into ``docs/testing.md`` by hand.
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.chaos.load import FLOWS, VISIBILITY_S, Ledger, Load, Planned, overlapping, plan, write_functions
from tests.hostile.harness import Hostile
from tests.runtime.crash.history import check_dense, read_history
from tests.server import TEST_KEYS, ServerProcess
from tests.stores import PG_URL, drop_schema, require_pg
from tests.waiting import wait_until
from tidegate.cli.server import store_url_for
from tidegate.store import open_store

pytestmark = pytest.mark.slow

ROUNDS = int(os.environ.get("TIDEGATE_CHAOS_ROUNDS", "3"))
EXECUTIONS = int(os.environ.get("TIDEGATE_CHAOS_EXECUTIONS", "32"))
SEED = int(os.environ.get("TIDEGATE_CHAOS_SEED", "20261201"))
MESSAGES_PER_ROUND = 10
WORKERS = 3 if EXECUTIONS < 200 else 6
STARTERS = 2 if EXECUTIONS < 200 else 4
# Deadlines, not expected durations: a loaded 2-core machine can take 10 s to restart the server.
ROUND_TIMEOUT_S = 120.0 + EXECUTIONS / 10
FINISH_TIMEOUT_S = 240.0 + EXECUTIONS / 5


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[str]]:
    """Extra server arguments: none (SQLite in the data folder) or ``--store`` on a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield []
        return
    require_pg()
    schema = f"chaos_{uuid.uuid4().hex[:12]}"
    try:
        yield ["--store", f"{PG_URL}?schema={schema}"]
    finally:
        drop_schema(schema)


@pytest.mark.timeout(600 + EXECUTIONS)  # a deadline: restarts alone took up to 30 s each on a loaded machine
def test_sigkill_at_random_instants_under_mixed_load(tmp_path: Path, backend: list[str]) -> None:
    rng = random.Random(SEED)
    functions = write_functions(tmp_path / "functions")
    srv = ServerProcess(tmp_path / "data", env=TEST_KEYS, args=["--functions", str(functions), *backend])
    srv.start()
    h = Hostile(srv)
    for name, definition in FLOWS.items():
        h.rpc_ok({"Action": "CreateFlow", "Name": name, "Definition": definition, "Description": "", "Type": "FDL"})
    for queue_name in ("chaos-cb", "chaos-q"):
        doc = f"<Queue><VisibilityTimeout>{VISIBILITY_S}</VisibilityTimeout></Queue>".encode()
        assert h.mns("PUT", f"/queues/{queue_name}", body=doc).status_code == 201

    planned = plan(EXECUTIONS, SEED)
    batches = [planned[i :: ROUNDS + 1] for i in range(ROUNDS + 1)]
    ledger = Ledger()
    load = Load(h, ledger)
    for _ in range(STARTERS):
        load.spawn(load.starter)
    for i in range(WORKERS):
        load.spawn(load.worker, f"w{i}")
    load.spawn(load.producer)
    load.spawn(load.consumer, "c0")

    kills: list[dict[str, float]] = []
    sent = 0
    try:
        for r, batch in enumerate(batches):
            if r:  # the previous batch is fully started before the next is released: the load stays per round
                wait_until(
                    reached(ledger.started_count, sum(map(len, batches[:r]))), timeout=ROUND_TIMEOUT_S, message="starts"
                )
            before = ledger.progress()
            for p in batch:
                load.starts.put(p)
            for _ in range(MESSAGES_PER_ROUND):
                load.sends.put(f"r{r}m{sent}")
                sent += 1
            if r == ROUNDS:
                break  # the last batch runs to the end without a kill
            # A random instant: once a random share of this round's work has been acknowledged.
            target = before + rng.randint(1, max(1, len(batch) + MESSAGES_PER_ROUND - 1))
            wait_until(
                reached(ledger.progress, target), timeout=ROUND_TIMEOUT_S, message=f"round {r}: progress {target}"
            )
            killed = time.monotonic()
            srv.kill()
            srv.start(timeout_s=60)
            kills.append({"round": r, "progress": ledger.progress() - before, "recovery_s": time.monotonic() - killed})
            print(
                f"round {r}: killed after {kills[-1]['progress']} acknowledgements, healthy again after "
                f"{kills[-1]['recovery_s']:.2f} s",
                flush=True,
            )

        # Everything started, every acknowledged message consumed, every execution ended.
        store = open_store(backend[1] if backend else store_url_for(srv.data_dir))
        try:
            finished = time.monotonic()

            pending = list(planned)

            def all_done() -> bool:
                if len(ledger.started) < len(planned) or len(ledger.sent) < sent or not ledger.sent <= ledger.consumed:
                    return False
                while pending and store.get_execution(pending[-1].flow, pending[-1].name).ended:
                    pending.pop()  # each execution is read until it has ended, then never again
                return not pending

            wait_until(all_done, timeout=FINISH_TIMEOUT_S, message="every execution ended and every message consumed")
            drain_s = time.monotonic() - finished
            check_executions(store, planned)
        finally:
            store.close()
    finally:
        load.stop()
        h.close()
        log = srv.log()
        srv.kill()

    assert not ledger.errors, ledger.errors[:20]
    twice = [t for t, n in ledger.reports_ok.items() if n > 1]
    assert not twice, f"{len(twice)} task tokens answered 200 twice"
    assert not overlapping(ledger.receptions), overlapping(ledger.receptions)[:5]
    assert len(ledger.sent) == sent, "every send was acknowledged in the end (each one is retried)"
    assert "Traceback (most recent call last)" not in log, log[-3000:]
    cb = sum(1 for p in planned if p.flow == "cb")
    assert sum(ledger.reports_ok.values()) == cb
    print(
        f"\nchaos {'postgres' if backend else 'sqlite'}: rounds={ROUNDS} executions={len(planned)} "
        f"kills={len(kills)} recovery_s(max)={max(k['recovery_s'] for k in kills):.2f} "
        f"recovery_s(all)={[round(k['recovery_s'], 2) for k in kills]} drain_s={drain_s:.1f} "
        f"messages={sent} receptions={len(ledger.receptions)} client_retries={ledger.retries} "
        f"already_completed={ledger.already_completed} stale_deletes={ledger.stale_deletes}"
    )


def reached(count: Callable[[], int], n: int) -> Callable[[], bool]:
    """A condition: ``count()`` is at least ``n``."""
    return lambda: count() >= n


def check_executions(store: object, planned: list[Planned]) -> None:
    """Terminal, right output, dense history, one TaskSucceeded per callback."""
    from tidegate.store import Store

    assert isinstance(store, Store)
    for p in planned:
        record = store.get_execution(p.flow, p.name)
        assert record.status == "Succeeded", (p.name, record.status, record.error, record.cause)
        assert json.loads(record.output or "null") == p.expected, (p.name, record.output)
        history = read_history(store, record.id)
        check_dense(history)
        assert record.event_count == len(history), p.name
        if p.flow == "cb":
            assert sum(1 for e in history if e.type == "TaskSucceeded") == 1, p.name
