"""Helpers for running flows end to end: a real store, a :class:`Runtime` in-process, the `tidegate` CLI.

Corpus flows are loaded the way ``tests/flow/helpers.py`` prescribes (placeholders substituted; the flow
loader expands ``!Ref``). Stand-in functions live in ``corpus_functions/`` and are copied into each test's
tmp dir, because some keep state (poll counters, invocation logs) next to their own file.

Corpus flows wait 5-10 s and retry after 1-4 s. Instead of patching the engine, the in-process runtime can
run on a :class:`FastClock`: epoch milliseconds that advance ``speed`` times faster than real time. The
runtime's idle loop sleeps until the next timer *in real seconds computed from clock milliseconds*, so with
a fast clock a :class:`Ticker` wakes it as a real clock's passage would (a clock tick, not a test
synchronisation: tests still wait on conditions with deadlines).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.flow.helpers import CORPUS, substitute
from tests.waiting import wait_until
from tidegate.clock import now_ms
from tidegate.engine import start_event
from tidegate.runtime import Runtime, load_signer
from tidegate.runtime.service import WorkflowService
from tidegate.store import WORK, ExecutionRecord, FlowNotFound, FlowRecord, HistoryRow, Store, execution_channel
from tidegate.store import open_store as _open_store

FUNCTIONS = Path(__file__).resolve().parent / "corpus_functions"
TIDEGATE = str(Path(sys.executable).with_name("tidegate"))


def corpus_text(name: str) -> str:
    """The definition of corpus file ``name`` (without ``.yaml``) with its placeholders substituted."""
    return substitute((CORPUS / f"{name}.yaml").read_text(encoding="utf-8"))


def copy_functions(tmp_path: Path) -> Path:
    """A private copy of the stand-in functions under ``tmp_path`` (their state files land there)."""
    dest = tmp_path / "functions"
    shutil.copytree(FUNCTIONS, dest, ignore=shutil.ignore_patterns("__pycache__", "*.count", "*.calls"))
    return dest


def calls(functions: Path, service: str, function: str) -> list[str]:
    """The invocation log lines a stand-in wrote next to itself (``FUNCTION.calls``), in call order."""
    path = functions / service / f"{function}.calls"
    return path.read_text().splitlines() if path.exists() else []


class FastClock:
    """Epoch milliseconds that start at the real now and run ``speed`` times faster."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self._origin_ms = now_ms()
        self._origin_mono = time.monotonic()

    def __call__(self) -> int:
        return self._origin_ms + int((time.monotonic() - self._origin_mono) * 1000 * self.speed)


class Ticker:
    """Notifies the runtime's work channel every ``period_s`` real seconds while running (see module doc)."""

    def __init__(self, store: Store, period_s: float = 0.01) -> None:
        self._store = store
        self._period = period_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="test-ticker", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self._period):
            self._store.notifier.notify(WORK)

    def start(self) -> None:
        """Start ticking."""
        self._thread.start()

    def stop(self) -> None:
        """Stop ticking."""
        self._stop.set()
        self._thread.join(timeout=5)


@dataclass(frozen=True, slots=True)
class Finished:
    """An ended execution and its history."""

    record: ExecutionRecord
    events: list[HistoryRow]

    @property
    def status(self) -> str:
        """The final status."""
        return self.record.status

    @property
    def output(self) -> Any:
        """The output, parsed (``None`` when the execution has none)."""
        return json.loads(self.record.output) if self.record.output else None

    @property
    def types(self) -> list[str]:
        """The history event types, in order."""
        return [e.type for e in self.events]

    def entered(self) -> list[str]:
        """The names of the steps entered, in order."""
        return [e.step_name for e in self.events if e.type == "StepEntered"]

    def of(self, step: str, type_: str) -> list[dict[str, Any]]:
        """The parsed details of the ``type_`` events of step ``step``."""
        return [json.loads(e.detail) for e in self.events if e.step_name == step and e.type == type_]

    def task_inputs(self, step: str) -> list[Any]:
        """The input of every attempt of task step ``step``."""
        return [d["input"] for d in self.of(step, "TaskScheduled")]


def history(store: Store, execution_id: int) -> list[HistoryRow]:
    """The whole history of an execution."""
    rows: list[HistoryRow] = []
    while True:
        page = store.get_history(execution_id, after_event_id=rows[-1].event_id if rows else 0, limit=1000)
        if not page:
            return rows
        rows.extend(page)


def add_flow(store: Store, name: str, definition: str) -> None:
    """Create flow ``name`` unless it exists (child flows are looked up by name)."""
    try:
        store.get_flow(name)
    except FlowNotFound:
        now = now_ms()
        store.create_flow(
            FlowRecord(name=name, id=str(uuid.uuid4()), definition=definition, created_ms=now, modified_ms=now)
        )


def start(store: Store, flow: str, data: dict[str, Any] | None = None) -> ExecutionRecord:
    """Start an execution of flow ``flow`` with input ``data`` (a random name)."""
    record = ExecutionRecord(
        flow_name=flow,
        name=uuid.uuid4().hex,
        definition=store.get_flow(flow).definition,
        input=json.dumps(data or {}),
        started_ms=now_ms(),
    )
    created, _ = store.create_execution(record, start_event())
    return created


def wait_ended(store: Store, execution_id: int, timeout_s: float = 30.0) -> ExecutionRecord:
    """Wait on the execution's end notification (with a deadline) until it has ended; return it."""

    def ended() -> ExecutionRecord | None:
        record = store.get_execution_by_id(execution_id)
        return record if record.ended else None

    try:
        return wait_until(
            ended,
            timeout=timeout_s,
            interval=0.5,
            message=f"execution {execution_id} to end",
            notifier=store.notifier,
            channel=execution_channel(execution_id),
        )
    except AssertionError as exc:
        types = [e.type for e in history(store, execution_id)]
        raise AssertionError(f"{exc}; its history: {types}") from None


class Harness:
    """A SQLite (or given) store, the stand-in functions and a started :class:`Runtime` on them.

    Args:
        tmp_path: the test's tmp dir (store file and function copy).
        speed: clock speed-up; 1 runs on the real clock (see the module doc).
        url: a store URL instead of a SQLite file in ``tmp_path``.
        workers: task threads and function worker processes.
    """

    def __init__(self, tmp_path: Path, *, speed: float = 1.0, url: str | None = None, workers: int = 2) -> None:
        self.functions = copy_functions(tmp_path)
        self.store = _open_store(url or f"sqlite:///{tmp_path / 'store.db'}")
        self.clock: Callable[[], int] = FastClock(speed) if speed != 1 else now_ms
        self.signer = load_signer(self.store)
        # Leases are in clock milliseconds: scale them so that a fast clock does not expire a lease while a
        # function is still running (which would invoke it twice and spoil invocation counts).
        self.runtime = Runtime(
            self.store,
            signer=self.signer,
            functions_dir=self.functions,
            clock=self.clock,
            workers=workers,
            execution_lease_ms=int(10_000 * speed),
            job_lease_ms=int(90_000 * speed),
        )
        # As in the server: starts and task reports move their executions on in their own transaction.
        self.service = WorkflowService(self.store, self.signer, self.clock, apply_now=self.runtime.driver.apply_now)
        self.ticker = Ticker(self.store) if speed != 1 else None

    def __enter__(self) -> Harness:
        self.runtime.start()
        if self.ticker is not None:
            self.ticker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.ticker is not None:
            self.ticker.stop()
        self.runtime.stop()
        self.store.close()

    def add_flow(self, name: str, definition: str) -> None:
        """Create flow ``name`` unless it exists (child flows are looked up by name)."""
        add_flow(self.store, name, definition)

    def start(self, definition: str, input: dict[str, Any], *, flow: str = "f", name: str | None = None) -> int:
        """Create flow ``flow`` (if needed) and start an execution of it; return the execution id."""
        self.add_flow(flow, definition)
        record, _ = self.service.start_execution(flow, name or f"e-{uuid.uuid4().hex[:12]}", json.dumps(input))
        return record.id

    def wait(self, execution_id: int, timeout_s: float = 20.0) -> Finished:
        """Wait (on the execution's end notification, with a deadline) until it ends."""
        return Finished(wait_ended(self.store, execution_id, timeout_s), history(self.store, execution_id))

    def run(self, corpus: str, input: dict[str, Any], timeout_s: float = 20.0) -> Finished:
        """Run corpus flow ``corpus`` with ``input`` to its end."""
        return self.wait(self.start(corpus_text(corpus), input, flow=_flow_name(corpus)), timeout_s)

    def history(self, execution_id: int) -> list[HistoryRow]:
        """The execution's history so far."""
        return history(self.store, execution_id)

    def submitted_tokens(self, execution_id: int, step: str, count: int, timeout_s: float = 20.0) -> list[str]:
        """Wait until ``count`` waitForCallback attempts of ``step`` were submitted; return their tokens.

        The token is taken from the attempt's ``TaskScheduled`` input (the flows map ``$context.task.token``
        into it), as the real function would receive it.
        """
        found: list[str] = []

        def ready() -> bool:
            rows = self.history(execution_id)
            submitted = {e.schedule_event_id for e in rows if e.type == "TaskSubmitted"}
            found[:] = [
                _token(json.loads(e.detail)["input"])
                for e in rows
                if e.type == "TaskScheduled" and e.step_name == step and e.event_id in submitted
            ]
            return len(found) >= count

        wait_until(
            ready,
            timeout=timeout_s,
            interval=0.05,
            message=f"{count} submitted attempts of {step}",
            notifier=self.store.notifier,
        )
        return found


def _token(task_input: dict[str, Any]) -> str:
    for key in ("taskToken", "task_token"):
        if key in task_input:
            return str(task_input[key])
    raise AssertionError(f"no token in the task input {task_input}")


def _flow_name(corpus: str) -> str:
    """A valid, unique flow name for a corpus file (FnF names: letters, digits, ``_``, ``-``)."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", corpus)[:128]


@dataclass(frozen=True, slots=True)
class CliRun:
    """What ``tidegate run --json`` printed and returned."""

    code: int
    result: dict[str, Any]
    stderr: str

    @property
    def output(self) -> Any:
        """The parsed ``Output`` (``None`` when empty)."""
        text = self.result["Output"]
        return json.loads(text) if text else None

    def entered(self) -> list[str]:
        """The names of the steps entered, from ``Events``."""
        return [e["StepName"] for e in self.result["Events"] if e["Type"] == "StepEntered"]


def run_cli(
    tmp_path: Path, corpus: str, input: dict[str, Any], *, functions: Path | None = None, timeout_s: float = 60
) -> CliRun:
    """Run ``tidegate run FLOW --input … --functions … --store sqlite:///… --json`` in a subprocess."""
    flow_file = tmp_path / f"{_flow_name(corpus)}.yaml"
    flow_file.write_text(corpus_text(corpus), encoding="utf-8")
    args = [TIDEGATE, "run", str(flow_file), "--input", json.dumps(input)]
    args += ["--store", f"sqlite:///{tmp_path / 'cli.db'}", "--name", "run1", "--json", "--timeout", "30"]
    if functions is not None:
        args += ["--functions", str(functions)]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout_s, env=env, check=False)
    assert proc.stdout.strip(), f"tidegate run printed nothing (exit {proc.returncode}): {proc.stderr}"
    return CliRun(proc.returncode, json.loads(proc.stdout), proc.stderr)
