"""The records the store reads and writes: frozen dataclasses, no SQL.

``from_row`` builds a record from a mapping of column names (both backends return dict-like rows). JSON
columns are text in the database; ``state`` is decoded to a dict here, while ``input``/``output`` and
history ``detail`` stay JSON *text* because the API returns them as strings.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic, TypeAlias, TypeVar

from tidegate.jsontext import compact_ascii
from tidegate.status import TERMINAL, ExecutionStatus
from tidegate.store.errors import UnreadableRecord

if TYPE_CHECKING:
    from collections.abc import Callable

    from tidegate.store.database import Tx

Row = Mapping[str, Any]


class TaskStatus(StrEnum):
    """The status of a task token (the ``tasks`` table's values)."""

    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


T = TypeVar("T")
R = TypeVar("R")


def _json_or_none(text: Any) -> Any:
    return None if text is None else json.loads(text)


def _execution_status(row: Row) -> ExecutionStatus:
    try:
        return ExecutionStatus(row["status"])
    except ValueError:
        raise UnreadableRecord(f"execution {row['id']} has the unknown status {str(row['status'])[:40]!r}") from None


#: The parameters that carry status values into the named queries (``:running``, ``:task_open`` …): no
#: query spells a status itself. Pass them with every query that names one.
STATUS_PARAMS: Mapping[str, str] = {
    **{s.name.lower(): s.value for s in ExecutionStatus},
    **{f"task_{s.name.lower()}": s.value for s in TaskStatus},
}


_FIELDS: dict[Any, tuple[str, ...]] = {}  # record class -> its field names, computed once


def _from_columns(cls: type[R], row: Row, **decoded: Any) -> R:
    """Build a record whose fields are the row's columns of the same names; ``decoded`` gives converted ones."""
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]
    return cls(**{name: row[name] for name in names if name not in decoded}, **decoded)


def to_json(value: Mapping[str, Any] | str) -> str:
    """Return ``value`` as JSON text (text is passed through unchanged)."""
    return value if isinstance(value, str) else compact_ascii(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class Page(Generic[T]):
    """One page of a listing; ``next_token`` is opaque and ``None`` on the last page."""

    items: list[T]
    next_token: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FlowRecord:
    """A flow definition."""

    name: str
    id: str
    definition: str
    description: str = ""
    type: str = "FDL"
    role_arn: str = ""
    created_ms: int
    modified_ms: int

    @classmethod
    def from_row(cls, row: Row) -> FlowRecord:
        """Build the record from a ``flows`` row."""
        return _from_columns(cls, row)


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionRecord:
    """An execution. ``id``, ``flow_id``, ``version``, ``event_count`` and the lease are store-assigned.

    ``state`` is the engine's opaque JSON-serialisable state (``None`` until the first transition);
    ``callback_token`` is the parent's task token to report to when this execution ends; ``parent_id``
    the execution that started this one as a child flow (retention keeps a child while its parent runs).
    ``apply_failures`` counts failed attempts in a row at applying its events (while above zero,
    ``lease_until_ms`` is the next attempt's time).
    """

    flow_name: str
    name: str
    definition: str
    input: str
    started_ms: int
    id: int = 0
    flow_id: str = ""
    output: str | None = None
    error: str | None = None
    cause: str | None = None
    status: ExecutionStatus = ExecutionStatus.RUNNING
    state: dict[str, Any] | None = None
    version: int = 0
    stopped_ms: int | None = None
    event_count: int = 0
    callback_token: str | None = None
    lease_owner: str | None = None
    lease_until_ms: int | None = None
    apply_failures: int = 0
    parent_id: int | None = None

    @property
    def ended(self) -> bool:
        """Whether the status is terminal."""
        return self.status in TERMINAL

    @classmethod
    def from_row(cls, row: Row) -> ExecutionRecord:
        """Build the record from an ``executions`` row (a state that is not JSON reads as None)."""
        return cls.from_row_readable(row)[0]

    @classmethod
    def from_row_readable(cls, row: Row) -> tuple[ExecutionRecord, str | None]:
        """Build the record and say why its state could not be read (then it is None), if it could not."""
        status = _execution_status(row)
        try:
            return _from_columns(cls, row, status=status, state=_json_or_none(row["state"])), None
        except (ValueError, TypeError) as exc:
            return _from_columns(cls, row, status=status, state=None), f"its stored state is not JSON ({exc})"


@dataclass(frozen=True, slots=True, kw_only=True)
class InboxItem:
    """An engine event waiting to be applied to an execution."""

    id: int
    execution_id: int
    event: dict[str, Any]

    @classmethod
    def from_row(cls, row: Row) -> InboxItem:
        """Build the record from an ``inbox`` row."""
        return _from_columns(cls, row, event=json.loads(row["event"]))


@dataclass(frozen=True, slots=True, kw_only=True)
class Work:
    """A leased execution and its due inbox items, oldest first.

    ``unreadable`` says why its row or an inbox item could not be read (then nothing can be applied).
    """

    execution: ExecutionRecord
    inbox: tuple[InboxItem, ...]
    unreadable: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryWrite:
    """A history event to append (docs/engine.md, History). ``detail`` is a dict or JSON text.

    :class:`HistoryRow` is the same event as the store returns it.
    """

    event_id: int
    schedule_event_id: int
    type: str
    step_name: str = ""
    time_ms: int
    detail: Mapping[str, Any] | str = "{}"


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryRow:
    """A stored history event; ``detail`` is JSON text as GetExecutionHistory returns it."""

    execution_id: int
    event_id: int
    schedule_event_id: int
    type: str
    step_name: str
    time_ms: int
    detail: str

    @classmethod
    def from_row(cls, row: Row) -> HistoryRow:
        """Build the record from a ``history`` row."""
        return _from_columns(cls, row)


@dataclass(frozen=True, slots=True, kw_only=True)
class TimerWrite:
    """A timer to (re)arm: at ``fire_at_ms`` the store delivers ``event`` to the execution's inbox.

    ``task_key`` names the open task the timer ends (its timeout or heartbeat timer): the move of the timer
    to the inbox cancels that task in the same transaction. With ``heartbeat_ms``, a heartbeat of that task
    (:meth:`Store.heartbeat_task`) moves the timer to the heartbeat's time plus ``heartbeat_ms``.
    """

    key: str
    fire_at_ms: int
    event: Mapping[str, Any]
    task_key: str | None = None
    heartbeat_ms: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskOpen:
    """A task attempt to open, with what the list of waiting tasks shows of it (a plain key opens one
    that shows only its key)."""

    key: str
    step_name: str | None = None
    resource: str | None = None
    pattern: str | None = None
    attempt: int | None = None
    heartbeat_ms: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class JobWrite:
    """A job to enqueue (an effect outside the store, e.g. a function invocation)."""

    kind: str
    payload: Mapping[str, Any]
    task_key: str | None = None
    available_ms: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """An event for another execution's inbox (dropped if that execution has ended)."""

    execution_id: int
    event: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskCompletion:
    """Complete another execution's open task with ``event`` (as :meth:`Store.complete_task`)."""

    execution_id: int
    task_key: str
    event: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class EffectOutcome:
    """What a transactional effect reports back to its own execution.

    ``event`` goes to the execution's inbox; with ``complete_task`` it completes that open task instead (as
    :meth:`Store.complete_task`), so a later report of the token is refused.
    """

    event: Mapping[str, Any]
    complete_task: str | None = None


TxEffect: TypeAlias = "Callable[[Tx], EffectOutcome | None]"
"""A write on the same database (e.g. sending a queue message) that must commit with the transition."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TransitionWrite:
    """Everything one engine transition writes; a batch of them commits in one transaction.

    ``events`` must continue the execution's dense event ids (``event_count + 1`` onwards). ``effects``
    run inside the same transaction after everything else is written; an effect must raise nothing it
    cannot contain (a raise rolls the whole batch back). When
    ``status`` is terminal the store also closes the execution's open tasks, drops its timers and
    pending inbox items, and notifies ``exec:<id>``.
    """

    execution_id: int
    expected_version: int
    state: Mapping[str, Any] | None
    status: ExecutionStatus
    output: str | None = None
    error: str | None = None
    cause: str | None = None
    stopped_ms: int | None = None
    events: Sequence[HistoryWrite] = ()
    consumed_inbox: Sequence[int] = ()
    timers_add: Sequence[TimerWrite] = ()
    timers_cancel: Sequence[str] = ()
    tasks_open: Sequence[str | TaskOpen] = ()
    tasks_cancel: Sequence[str] = ()
    jobs: Sequence[JobWrite] = ()
    deliveries: Sequence[Delivery] = ()
    task_completions: Sequence[TaskCompletion] = ()
    effects: Sequence[TxEffect] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskRecord:
    """A task token's record: ``status`` is open, done or cancelled (a closed task never reopens).

    The step, resource, pattern, attempt and heartbeat interval are None for a task opened before they were
    recorded; ``last_heartbeat_ms`` is None until the first heartbeat.
    """

    execution_id: int
    task_key: str
    status: TaskStatus
    created_ms: int
    closed_ms: int | None = None
    step_name: str | None = None
    resource: str | None = None
    pattern: str | None = None
    attempt: int | None = None
    heartbeat_ms: int | None = None
    last_heartbeat_ms: int | None = None

    @classmethod
    def from_row(cls, row: Row) -> TaskRecord:
        """Build the record from a ``tasks`` row."""
        return _from_columns(cls, row, status=TaskStatus(row["status"]))


@dataclass(frozen=True, slots=True, kw_only=True)
class WaitingTask:
    """An open task that waits for a report from outside (a callback), as the waiting-tasks list shows it.

    ``created_ms`` is when it started to wait; ``deadline_ms`` the earliest of its timeout and heartbeat
    deadline (None: it waits for ever).
    """

    execution_id: int
    task_key: str
    flow_name: str
    execution_name: str
    created_ms: int
    step_name: str | None = None
    resource: str | None = None
    pattern: str | None = None
    attempt: int | None = None
    heartbeat_ms: int | None = None
    last_heartbeat_ms: int | None = None
    deadline_ms: int | None = None

    @classmethod
    def from_row(cls, row: Row) -> WaitingTask:
        """Build the record from a row of the waiting-tasks queries."""
        return _from_columns(cls, row)


@dataclass(frozen=True, slots=True, kw_only=True)
class JobRecord:
    """A claimed job. ``attempts`` counts claims, including this one."""

    id: int
    kind: str
    payload: dict[str, Any]
    execution_id: int | None
    task_key: str | None
    available_ms: int
    attempts: int
    lease_owner: str | None = None
    lease_until_ms: int | None = None
    last_error: str | None = None
    created_ms: int = 0

    @classmethod
    def from_row(cls, row: Row) -> JobRecord:
        """Build the record from a ``jobs`` row."""
        return _from_columns(cls, row, payload=json.loads(row["payload"]))


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleRecord:
    """A time-based schedule of a flow; ``next_fire_ms`` is ``None`` when it will not fire again."""

    flow_name: str
    name: str
    id: str
    cron: str
    payload: str = "{}"
    enable: bool = True
    description: str = ""
    created_ms: int
    modified_ms: int
    next_fire_ms: int | None = None

    @classmethod
    def from_row(cls, row: Row) -> ScheduleRecord:
        """Build the record from a ``schedules`` row."""
        return _from_columns(cls, row, enable=bool(row["enable"]))


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeRecord:
    """A server sharing the store: ``id`` is its lease-owner id; ``last_seen_ms`` its latest heartbeat.

    ``released_ms``: when another server found it dead (no heartbeat) and released its leases (cleared by
    its next heartbeat); ``stopped_ms``: when it stopped cleanly.
    """

    id: str
    address: str
    version: str
    host: str
    pid: int
    started_ms: int
    last_seen_ms: int = 0
    released_ms: int | None = None
    stopped_ms: int | None = None

    @classmethod
    def from_row(cls, row: Row) -> NodeRecord:
        """Build the record from a ``nodes`` row."""
        return _from_columns(cls, row)


@dataclass(frozen=True, slots=True)
class Released:
    """The leases a release gave back: executions and jobs."""

    executions: int = 0
    jobs: int = 0
