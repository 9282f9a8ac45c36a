"""The store interface: domain operations only, no SQL.

Every method is one database transaction. Times are epoch milliseconds. A backend is chosen by URL with
:func:`open_store` (``sqlite:///path`` or ``postgresql://…``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tidegate.clock import Clock
from tidegate.status import ExecutionStatus
from tidegate.store.database import Database
from tidegate.store.notify import Notifier
from tidegate.store.records import (
    ExecutionRecord,
    FlowRecord,
    HistoryRow,
    JobRecord,
    NodeRecord,
    Page,
    Released,
    ScheduleRecord,
    TaskRecord,
    TransitionWrite,
    WaitingTask,
    Work,
)

ComputeNext = Callable[[ScheduleRecord, int], "int | None"]

#: The tables whose rows belong to one execution (column ``execution_id``): a purge of a deleted flow and
#: retention remove an execution's rows from each of them in the transaction that removes the execution.
#: A new table of execution-owned rows is added here.
EXECUTION_TABLES: tuple[str, ...] = ("history", "tasks", "inbox", "timers", "jobs")

#: The error of the executions a DeleteFlow stopped (and of a parent's task that waited on one of them).
FLOW_DELETED = "FnF.FlowDeleted"


@dataclass(frozen=True, slots=True)
class DeletedFlow:
    """What :meth:`Store.delete_flow` did: the deleted flow's id, and the callback tokens of the running
    executions it stopped that were started as child flows (their parents' tasks are still waiting)."""

    id: str
    parent_tokens: tuple[str, ...] = ()


#: Applies an execution's due inbox items inside the caller's write transaction (the runtime's
#: :meth:`Driver.apply_now`); None leaves them to the driver loop.
ApplyNow = Callable[[Work], "TransitionWrite | None"]


class Store(ABC):
    """One interface of domain operations; backends are ``SqliteStore`` and ``PostgresStore``.

    ``clock`` is the store's one source of "now" (given at open): an operation that needs the time and
    takes no ``now_ms`` argument reads it, never the wall clock directly.
    """

    notifier: Notifier
    clock: Clock

    @property
    @abstractmethod
    def database(self) -> Database:
        """The SQL database under the store, for domains that keep their own tables in it (the message
        service, the function registry): see :mod:`tidegate.store.database`. Their writes may join a
        transition's transaction through a :class:`~tidegate.store.TxEffect`."""

    #: Called with every batch of transitions once its transaction has committed (the runtime's metrics;
    #: docs/operations.md, Metrics). None: nobody observes them.
    transition_observer: Callable[[Sequence[TransitionWrite]], None] | None = None

    @staticmethod
    def from_url(url: str, **options: Any) -> Store:
        """Open the store the URL names (see :func:`open_store`)."""
        from tidegate.store._open import open_store

        return open_store(url, **options)

    # --- lifecycle -------------------------------------------------------------------------------

    @abstractmethod
    def close(self) -> None:
        """Close connections and stop background threads; the store is unusable afterwards."""

    @abstractmethod
    def dump_schema(self) -> str:
        """Return a normalised text description of the schema (tables, columns, indexes)."""

    @abstractmethod
    def applied_migrations(self) -> list[int]:
        """Return the applied migration versions in ascending order."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- settings --------------------------------------------------------------------------------

    @abstractmethod
    def get_setting(self, key: str) -> str | None:
        """Return the setting's value, or None."""

    @abstractmethod
    def put_setting_if_absent(self, key: str, value: str) -> str:
        """Store ``value`` unless the key exists; return the value that won."""

    @abstractmethod
    def replace_setting(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``, replacing what was there."""

    # --- flows -----------------------------------------------------------------------------------

    @abstractmethod
    def create_flow(self, flow: FlowRecord) -> FlowRecord:
        """Insert a flow. Raises FlowAlreadyExists."""

    @abstractmethod
    def update_flow(self, name: str, *, modified_ms: int, **changes: Any) -> FlowRecord:
        """Change ``definition``/``description``/``type``/``role_arn``. Raises FlowNotFound."""

    @abstractmethod
    def get_flow(self, name: str) -> FlowRecord:
        """Return the flow. Raises FlowNotFound."""

    @abstractmethod
    def list_flows(self, limit: int = 60, next_token: str | None = None) -> Page[FlowRecord]:
        """List flows by name."""

    @abstractmethod
    def delete_flow(self, name: str) -> DeletedFlow:
        """Delete a flow and its schedules, stop its running executions; return the flow's id and the
        callback tokens of the stopped executions that a parent waits on.

        In the same transaction every running execution of the flow becomes ``Stopped`` (error
        ``FnF.FlowDeleted``): its open tasks are cancelled, its inbox, timers and jobs deleted, and a driver
        holding it can no longer commit. Its executions are no longer visible through the flow name, even
        when a new flow of the same name is created; :meth:`purge_flow_executions` removes them.
        Raises FlowNotFound.
        """

    @abstractmethod
    def purge_flow_executions(self, flow_id: str, limit: int) -> int:
        """Remove up to ``limit`` executions of the deleted flow ``flow_id`` with their history, tasks,
        inbox, timers and jobs, in one transaction; return how many (0: none left). Nothing is removed
        while a flow with that id exists."""

    @abstractmethod
    def deleted_flow_ids(self, limit: int = 100) -> list[str]:
        """Ids of deleted flows that still have executions (to purge, e.g. after a restart)."""

    @abstractmethod
    def remove_ended_executions(self, ended_before_ms: int, limit: int) -> int:
        """Remove up to ``limit`` executions that ended (Succeeded, Failed, Stopped, TimedOut) before
        ``ended_before_ms``, with everything they own (history, tasks, inbox, timers, jobs and every other
        table of :data:`EXECUTION_TABLES`), in one transaction; return how many (fewer than ``limit``: none
        left). A running execution is never removed, nor a child flow execution whose parent still runs."""

    @abstractmethod
    def reclaim_space(self, max_pages: int) -> int:
        """Give up to ``max_pages`` free database pages back to the file system; return how many.

        SQLite stores created with incremental auto-vacuum shrink their file by that much; other SQLite
        files and PostgreSQL (whose autovacuum reuses the space) return 0.
        """

    # --- executions ------------------------------------------------------------------------------

    @abstractmethod
    def create_execution(
        self, execution: ExecutionRecord, start_event: Mapping[str, Any], apply: ApplyNow | None = None
    ) -> tuple[ExecutionRecord, bool]:
        """Insert an execution (version 0, no state) and put ``start_event`` in its inbox.

        With ``apply``, a new execution's start is applied and committed in the same transaction (see
        :meth:`complete_task`). Returns ``(record, created)`` (the record as inserted); a running execution
        of the same name is returned with ``created=False``. Raises ExecutionAlreadyExists when it already
        ended, FlowNotFound.
        """

    @abstractmethod
    def get_execution(self, flow_name: str, name: str) -> ExecutionRecord:
        """Return the execution. Raises FlowNotFound or ExecutionNotFound."""

    @abstractmethod
    def get_execution_by_id(self, execution_id: int) -> ExecutionRecord:
        """Return the execution. Raises ExecutionNotFound."""

    @abstractmethod
    def list_executions(
        self,
        flow_name: str,
        *,
        status: ExecutionStatus | None = None,
        name_prefix: str | None = None,
        started_from_ms: int | None = None,
        started_to_ms: int | None = None,
        limit: int = 60,
        next_token: str | None = None,
    ) -> Page[ExecutionRecord]:
        """List a flow's executions by start time then id. Raises FlowNotFound, InvalidPageToken."""

    # --- inbox, claims, transitions --------------------------------------------------------------

    @abstractmethod
    def append_inbox(self, execution_id: int, event: Mapping[str, Any], available_ms: int | None = None) -> bool:
        """Queue an event for an execution; False (nothing written) when it has ended."""

    @abstractmethod
    def claim_work(self, owner: str, limit: int, lease_ms: int, now_ms: int) -> list[Work]:
        """Lease up to ``limit`` running executions with due inbox items; expired leases are free."""

    @abstractmethod
    def release(self, execution_ids: Sequence[int], owner: str) -> None:
        """Give back leases held by ``owner`` without a transition."""

    @abstractmethod
    def commit(self, transitions: Sequence[TransitionWrite]) -> None:
        """Write a batch of transitions in one transaction and release their leases.

        All or nothing: when any write of the batch fails (VersionConflict when an execution is not at
        ``expected_version``, HistoryGap, a failing effect, a database error) the error is raised and
        nothing of the batch is written; the caller may then commit the writes one by one.
        """

    @abstractmethod
    def defer(self, execution_id: int, owner: str, until_ms: int) -> int | None:
        """Applying failed: count the failure and keep the execution unclaimed until ``until_ms``.

        Only the lease holder ``owner`` defers. Returns the failures in a row, or None (not held, ended).
        """

    @abstractmethod
    def end_execution(
        self, execution_id: int, build: Callable[[ExecutionRecord], TransitionWrite]
    ) -> ExecutionRecord | None:
        """End an active execution without the engine, whoever holds its lease, in one transaction.

        ``build`` gets the locked row and returns its terminal write (status, history event, completions).
        Returns the ended record, or None when it had ended already (nothing written).
        """

    @abstractmethod
    def get_history(self, execution_id: int, after_event_id: int = 0, limit: int = 1000) -> list[HistoryRow]:
        """Return history events with ids greater than ``after_event_id``, ascending."""

    # --- timers ----------------------------------------------------------------------------------

    @abstractmethod
    def move_due_timers(self, now_ms: int, limit: int = 1000) -> int:
        """Move due timers' events to their inboxes (each exactly once); return how many."""

    @abstractmethod
    def next_timer_ms(self) -> int | None:
        """Return the earliest time anything becomes due without a notification.

        That is the earliest of: timers, delayed inbox items and execution leases that will expire while
        inbox items wait. None when nothing is pending.
        """

    # --- tasks -----------------------------------------------------------------------------------

    @abstractmethod
    def complete_task(
        self, execution_id: int, task_key: str, event: Mapping[str, Any], apply: ApplyNow | None = None
    ) -> bool:
        """If the task is open, close it and queue ``event``; False when done, cancelled or unknown.

        With ``apply``, when no driver holds the execution, its due inbox items are applied by ``apply`` and
        the transition is committed in this same transaction: one transaction instead of three (queue,
        claim, commit), and no wait for the driver. Otherwise (leased, or ``apply`` returns None) the event
        waits in the inbox for the driver, as without ``apply``.
        """

    @abstractmethod
    def count_tasks_waiting(self) -> int:
        """How many open tasks have no invocation pending: they wait for a report from outside (a callback)."""

    @abstractmethod
    def get_task(self, execution_id: int, task_key: str) -> TaskRecord | None:
        """Return the task record, or None."""

    @abstractmethod
    def heartbeat_task(self, execution_id: int, task_key: str, now_ms: int) -> bool:
        """Record a heartbeat of an open task (``last_heartbeat_ms``) and, when it has a heartbeat timer, move
        that timer to ``now_ms`` plus the task's heartbeat interval. No history event, no engine transition.

        Returns False (nothing that matters changed) when the task is not open (done, cancelled, timed out,
        unknown) or its heartbeat timer has fired already.
        """

    @abstractmethod
    def list_waiting_tasks(
        self,
        *,
        flow_name: str | None = None,
        newest_first: bool = False,
        limit: int = 100,
        next_token: str | None = None,
    ) -> Page[WaitingTask]:
        """List the open tasks that wait on a callback (no invocation pending), across flows or of one flow,
        oldest first (``newest_first``: the reverse). Raises InvalidPageToken."""

    # --- jobs ------------------------------------------------------------------------------------

    @abstractmethod
    def claim_jobs(self, owner: str, kinds: Sequence[str], limit: int, lease_ms: int, now_ms: int) -> list[JobRecord]:
        """Lease due jobs of the given kinds (at least once: expired leases are claimable again)."""

    @abstractmethod
    def finish_job(
        self, job_id: int, result_event: Mapping[str, Any] | None = None, apply: ApplyNow | None = None
    ) -> bool:
        """Delete the job; if it has a still-open task, complete it with ``result_event``.

        ``apply`` is as for :meth:`complete_task`. Returns True when the event was delivered.
        """

    @abstractmethod
    def renew_jobs(self, owner: str, lease_ms: int, now_ms: int) -> int:
        """Extend every unexpired job lease ``owner`` holds to ``now_ms + lease_ms``; return how many.

        A running process renews its leases periodically, so a job lease can be short (a killed process's
        jobs become claimable soon) however long the job itself takes.
        """

    @abstractmethod
    def retry_job(self, job_id: int, available_ms: int, error: str | None = None) -> None:
        """Release the job's lease and make it due again at ``available_ms``."""

    @abstractmethod
    def next_job_ms(self, kinds: Sequence[str]) -> int | None:
        """Return the earliest ``available_ms`` or lease expiry among jobs of these kinds, or None."""

    # --- the cluster: signature nonces and nodes ---------------------------------------------------

    @abstractmethod
    def use_nonce(self, key_id: str, nonce: str, expires_ms: int) -> bool:
        """Record a request signature's nonce until ``expires_ms``; False when the key used it before
        (a row that has not expired). One statement; every server sharing the store sees it."""

    @abstractmethod
    def remove_expired_nonces(self, now_ms: int, limit: int) -> int:
        """Remove up to ``limit`` nonces that expired by ``now_ms``; return how many."""

    @abstractmethod
    def register_node(self, node: NodeRecord, now_ms: int) -> Released:
        """Record ``node`` as serving from ``now_ms``; give back the leases its id still holds (a previous
        run of the same node that was killed), in the same transaction."""

    @abstractmethod
    def node_heartbeat(self, node_id: str, now_ms: int) -> bool:
        """Note that the node is alive at ``now_ms``; False when it has no row (removed: register again)."""

    @abstractmethod
    def node_stopped(self, node_id: str, now_ms: int) -> None:
        """Note that the node stopped cleanly."""

    @abstractmethod
    def list_nodes(self) -> list[NodeRecord]:
        """Every node row, oldest start first."""

    @abstractmethod
    def release_dead_node(self, node_id: str, last_seen_ms: int, now_ms: int) -> Released | None:
        """Give back every lease of a node found dead, if its heartbeat is still ``last_seen_ms``.

        Returns None (nothing written) when it beat since, stopped, or another server released it first.
        The executions and jobs become claimable at once, and the claimers are woken.
        """

    @abstractmethod
    def remove_nodes(self, seen_before_ms: int) -> int:
        """Remove the rows of nodes last seen before ``seen_before_ms``; return how many."""

    # --- schedules -------------------------------------------------------------------------------

    @abstractmethod
    def create_schedule(self, schedule: ScheduleRecord) -> ScheduleRecord:
        """Insert a schedule. Raises FlowNotFound, ScheduleAlreadyExists."""

    @abstractmethod
    def update_schedule(self, flow_name: str, name: str, *, modified_ms: int, **changes: Any) -> ScheduleRecord:
        """Change ``cron``/``payload``/``enable``/``description``/``next_fire_ms``.

        Raises:
            ScheduleNotFound: no such schedule.
        """

    @abstractmethod
    def delete_schedule(self, flow_name: str, name: str) -> None:
        """Delete a schedule. Raises ScheduleNotFound."""

    @abstractmethod
    def get_schedule(self, flow_name: str, name: str) -> ScheduleRecord:
        """Return a schedule. Raises ScheduleNotFound."""

    @abstractmethod
    def list_schedules(self, flow_name: str, limit: int = 100, next_token: str | None = None) -> Page[ScheduleRecord]:
        """List a flow's schedules by name."""

    @abstractmethod
    def fire_due_schedules(
        self,
        now_ms: int,
        compute_next: ComputeNext,
        name_of: Callable[[ScheduleRecord, int], str],
        start_event: Mapping[str, Any],
        limit: int = 100,
    ) -> list[ExecutionRecord]:
        """Start one execution per due schedule and advance the schedule, in one transaction.

        Each tick fires exactly once, across restarts and processes: the execution ``name_of(schedule,
        due_ms)`` (input: the schedule's payload) is created in the same transaction that advances
        ``next_fire_ms``; an existing execution of that name starts nothing more. Returns the new ones.
        """

    @abstractmethod
    def claim_due_schedules(
        self, now_ms: int, compute_next: ComputeNext, limit: int = 100
    ) -> list[tuple[ScheduleRecord, int]]:
        """Return enabled schedules due at ``now_ms`` with their due time, advancing each in the same
        transaction to ``compute_next(schedule, now_ms)`` (missed ticks collapse into one firing)."""
