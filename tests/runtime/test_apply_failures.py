"""An execution whose events cannot be applied: bounded retries with a back-off, then Failed; StopExecution.

The poison is put below the API, as a store would hold it after a bug or an older version: an input whose
JSON escapes a lone surrogate (the engine's state then cannot be written), a stored definition the flow
loader refuses, and an engine path that raises. The runtime runs on a fast clock so that the back-off
(1 s, 2 s, 4 s, 8 s of clock time) passes quickly; tests wait on conditions, not on time.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from tests.runtime.helpers import FastClock, Harness, Ticker, add_flow, wait_ended
from tests.waiting import wait_until
from tidegate import engine
from tidegate.engine import start_event
from tidegate.flow.model import ResourceKind
from tidegate.integrations import Outcome, Registry, TaskJob
from tidegate.runtime import Runtime, load_signer
from tidegate.runtime.driver import APPLY_ATTEMPTS
from tidegate.runtime.executor import JOB_ATTEMPTS
from tidegate.store import ExecutionRecord, Store, open_store

PASS_FLOW = "version: v1\ntype: flow\nsteps:\n  - {type: pass, name: only}\n"
WAIT_FLOW = "version: v1\ntype: flow\nsteps:\n  - {type: wait, name: nap, duration: 2}\n  - {type: pass, name: after}\n"
TASK_FLOW = """version: v1
type: flow
steps:
  - {type: task, name: call, resourceArn: "acs:fc:::services/svc/functions/fn"}
"""
POISON_INPUT = '{"a":"\\ud800"}'  # valid JSON text; the string it decodes to cannot be encoded as UTF-8


def _create(store: Store, flow: str, *, input: str = "{}", definition: str = "", name: str = "poisoned") -> int:
    """Create an execution through the store (no API validation, not applied in the call)."""
    record = ExecutionRecord(flow_name=flow, name=name, definition=definition, input=input, started_ms=1)
    created, _ = store.create_execution(record, start_event())
    return created.id


def _attempt_lines(caplog: pytest.LogCaptureFixture, name: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "tidegate.runtime" and f"/{name}:" in r.getMessage()]


def _ends_failed_after_the_attempts(
    h: Harness, caplog: pytest.LogCaptureFixture, execution_id: int, name: str, exception: str
) -> None:
    done = h.wait(execution_id, timeout_s=30)
    assert (done.status, done.record.error) == ("Failed", "FnF.RuntimeError")
    assert done.record.cause is not None
    assert done.record.cause.startswith(f"applying the execution's events failed {APPLY_ATTEMPTS} times: {exception}")
    assert done.types[-1] == "ExecutionFailed"
    assert json.loads(done.events[-1].detail) == {"error": "FnF.RuntimeError", "cause": done.record.cause}
    lines = _attempt_lines(caplog, name)
    # One line per attempt, the traceback on the first only: no storm, and no attempt after the end.
    assert [r.levelname for r in lines] == ["WARNING"] * (APPLY_ATTEMPTS - 1) + ["ERROR"]
    assert [r.exc_info is not None for r in lines] == [True] + [False] * (APPLY_ATTEMPTS - 1)
    assert [f"attempt {i} of {APPLY_ATTEMPTS}" in r.getMessage() for i, r in enumerate(lines, 1)] == [True] * len(lines)


def test_an_input_the_engine_cannot_handle_ends_failed_after_bounded_attempts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tidegate.runtime")
    with Harness(tmp_path, speed=20) as h:
        h.add_flow("f", PASS_FLOW)
        good = _create(h.store, "f", name="healthy")
        eid = _create(h.store, "f", input=POISON_INPUT)
        _ends_failed_after_the_attempts(h, caplog, eid, "poisoned", "UnicodeEncodeError")
        assert h.wait(good).status == "Succeeded"


def test_a_transition_the_store_cannot_write_ends_failed_and_spares_its_batch(
    tmp_path: Path, store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tidegate.runtime")
    with Harness(tmp_path, speed=20, url=store_url) as h:
        eid = h.start(WAIT_FLOW, {}, name="poisoned")
        # A stop whose cause the engine takes but the store cannot write (a lone surrogate in a text column).
        h.store.append_inbox(eid, engine.StopRequested("E", "\ud800").to_dict())
        healthy = [h.start(WAIT_FLOW, {"i": i}, name=f"healthy{i}") for i in range(3)]  # batch-mates
        _ends_failed_after_the_attempts(h, caplog, eid, "poisoned", "UnicodeEncodeError")
        assert [h.wait(i).status for i in healthy] == ["Succeeded"] * 3


def test_a_definition_the_loader_refuses_ends_failed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="tidegate.runtime")
    with Harness(tmp_path, speed=20) as h:
        h.add_flow("f", PASS_FLOW)
        eid = _create(h.store, "f", definition="version: v1\ntype: flow\nsteps: 42\n")
        _ends_failed_after_the_attempts(h, caplog, eid, "poisoned", "FlowValidationError")


def test_an_engine_that_raises_later_in_the_run_ends_failed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> engine.Transition:
        raise RuntimeError("the engine broke")

    caplog.set_level(logging.INFO, logger="tidegate.runtime")
    with Harness(tmp_path, speed=20) as h:
        eid = h.start(WAIT_FLOW, {}, name="poisoned")  # started (applied at once), then waits on a timer
        assert [e.type for e in h.history(eid)][-1] == "StepEntered"
        monkeypatch.setattr(engine, "apply", broken)  # the timer's event cannot be applied
        _ends_failed_after_the_attempts(h, caplog, eid, "poisoned", "RuntimeError: the engine broke")
        assert [e.type for e in h.history(eid)][:2] == ["ExecutionStarted", "StepEntered"]


def test_a_state_this_version_cannot_read_ends_failed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="tidegate.runtime")
    with Harness(tmp_path, speed=20) as h:
        eid = h.start(WAIT_FLOW, {}, name="poisoned")  # waits on a timer; its state is then garbled
        with h.store.database.write() as tx:
            tx.raw_count(f"UPDATE executions SET state = 'garbled' WHERE id = {eid}")
        _ends_failed_after_the_attempts(h, caplog, eid, "poisoned", "UnreadableRecord: its stored state is not JSON")


def test_stop_execution_stops_an_execution_whose_events_cannot_be_applied(tmp_path: Path, store_url: str) -> None:
    with Harness(tmp_path, url=store_url) as h:  # the real clock: the back-off is long enough to stop it mid-way
        h.add_flow("f", PASS_FLOW)
        eid = _create(h.store, "f", input=POISON_INPUT)
        wait_until(
            lambda: h.store.get_execution_by_id(eid).apply_failures >= 1,
            message="a failed attempt",
            notifier=h.store.notifier,
        )
        stopped = h.service.stop_execution("f", "poisoned", "Halt", "by the test")
        assert (stopped.status, stopped.error, stopped.cause) == ("Stopped", "Halt", "by the test")
        done = h.wait(eid)
        assert done.types == ["ExecutionStopped"]  # its start never applied
        assert json.loads(done.events[0].detail) == {"error": "Halt", "cause": "by the test"}
        # A second stop is refused in the API's terms; nothing more is written.
        with pytest.raises(Exception, match="not running"):
            h.service.stop_execution("f", "poisoned")
        assert h.store.get_execution_by_id(eid).status == "Stopped"


def test_stop_execution_of_a_waiting_execution_cancels_its_timer(tmp_path: Path) -> None:
    with Harness(tmp_path) as h:
        eid = h.start(WAIT_FLOW, {}, name="waits")
        stopped = h.service.stop_execution("f", "waits")
        assert stopped.status == "Stopped" and stopped.output == ""
        done = h.wait(eid)
        assert done.types == ["ExecutionStarted", "StepEntered", "ExecutionStopped"]
        assert h.store.next_timer_ms() is None  # its wait timer was dropped with it


class _UnstorableResult:
    """A task integration whose result the store cannot write (a lone surrogate): handling the job raises."""

    def __init__(self) -> None:
        self.calls = 0

    def run(self, job: TaskJob) -> Outcome:
        self.calls += 1
        return Outcome(event=engine.TaskFailed(job.command.task_key, "E", "\ud800").to_dict())


def test_a_job_whose_result_handling_keeps_failing_fails_its_task_after_bounded_attempts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tidegate.runtime")
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    integration = _UnstorableResult()
    registry = Registry()
    registry.register(ResourceKind.FUNCTION, integration)
    runtime = Runtime(store, signer=load_signer(store), registry=registry, clock=FastClock(20))
    ticker = Ticker(store)
    try:
        with runtime:
            ticker.start()
            add_flow(store, "f", TASK_FLOW)
            eid = _create(store, "f", name="task")
            ended = wait_ended(store, eid, 30)
    finally:
        ticker.stop()
        store.close()
    assert (ended.status, ended.error) == ("Failed", "FnF.RuntimeError")
    assert ended.cause is not None
    assert ended.cause.startswith(f"handling the task's invocation failed {JOB_ATTEMPTS} times: UnicodeEncodeError")
    assert integration.calls == JOB_ATTEMPTS
    lines = [r for r in caplog.records if r.getMessage().startswith("executor: job")]
    assert [r.levelname for r in lines] == ["WARNING"] * (JOB_ATTEMPTS - 1) + ["ERROR"]
    assert [r.exc_info is not None for r in lines] == [True] + [False] * (JOB_ATTEMPTS - 1)
