"""Durability: reopening keeps everything; a SIGKILLed writer loses no acknowledged commit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

from tests.conftest import REPO
from tests.store.helpers import make_flow, start, step
from tidegate.store import JobWrite, ScheduleRecord, Store, TimerWrite, open_store


def test_reopen_keeps_everything(store_url: str) -> None:
    s = open_store(store_url)
    make_flow(s)
    e = start(s, "e1", started_ms=0)
    s.commit(
        [
            step(
                e,
                n_events=3,
                tasks_open=["k"],
                timers_add=[TimerWrite(key="t", fire_at_ms=7, event={"x": 1})],
                jobs=[JobWrite(kind="fn", payload={"p": 1})],
            )
        ]
    )
    s.put_setting_if_absent("secret", "abc")
    s.create_schedule(ScheduleRecord(flow_name="flow1", name="s", id="i", cron="c", created_ms=1, modified_ms=1))
    s.close()
    r = open_store(store_url)
    try:
        again = r.get_execution("flow1", "e1")
        assert (again.version, again.state, again.event_count) == (1, {"v": 1}, 3)
        assert [h.event_id for h in r.get_history(e.id)] == [1, 2, 3]
        assert r.get_setting("secret") == "abc"
        assert r.get_schedule("flow1", "s").cron == "c"
        assert r.move_due_timers(now_ms=10) == 1
        assert [j.payload for j in r.claim_jobs("w", ["fn"], 10, 1000, now_ms=10**13)] == [{"p": 1}]
        assert r.complete_task(e.id, "k", {})
    finally:
        r.close()


_CHILD = textwrap.dedent(
    """
    import sys
    from tidegate.store import open_store, ExecutionRecord, FlowRecord, HistoryWrite, TransitionWrite
    store = open_store(sys.argv[1])
    store.create_flow(FlowRecord(name="f", id="fid", definition="d", created_ms=1, modified_ms=1))
    rec, _ = store.create_execution(
        ExecutionRecord(flow_name="f", name="e", definition="d", input="{}", started_ms=1), {"type": "Start"})
    version = 0
    while True:
        ev = [HistoryWrite(event_id=version * 5 + i, schedule_event_id=0, type="StepEntered", time_ms=1,
                           detail={"v": version}) for i in range(1, 6)]
        store.commit([TransitionWrite(execution_id=rec.id, expected_version=version, state={"v": version + 1},
                                      status="Running", events=ev)])
        version += 1
        print(version, flush=True)
    """
)


def _kill_mid_way(store_url: str, acknowledged: int = 40) -> int:
    """Run the committing child, SIGKILL it after ``acknowledged`` commits; return the last one it printed."""
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    last = 0
    deadline = time.monotonic() + 60
    with subprocess.Popen(
        [sys.executable, "-c", _CHILD, store_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    ) as child:
        assert child.stdout is not None and child.stderr is not None
        try:
            for line in child.stdout:
                last = int(line)
                if last >= acknowledged or time.monotonic() > deadline:
                    break
            os.kill(child.pid, signal.SIGKILL)
            # Acknowledgements already in the pipe were committed too: read them before judging.
            rest = child.stdout.read().split()
            if rest:
                last = int(rest[-1])
            errors = child.stderr.read().decode()
        finally:
            child.kill()
    assert last >= acknowledged, errors
    return last


def test_sigkill_loses_no_acknowledged_commit(store_url: str) -> None:
    last = _kill_mid_way(store_url)
    s: Store = open_store(store_url)
    try:
        e = s.get_execution("f", "e")
        assert e.version >= last and e.state == {"v": e.version}
        history = s.get_history(e.id, limit=100_000)
        assert [h.event_id for h in history] == list(range(1, e.version * 5 + 1))
        assert e.event_count == e.version * 5
    finally:
        s.close()
