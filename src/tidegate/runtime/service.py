"""WorkflowService: the Serverless Workflow operations, independent of any wire protocol.

The RPC API (:mod:`tidegate.api.fnf_rpc`), the REST API and the console call these methods; each validates
its arguments, calls the store and raises only :mod:`tidegate.errors` subclasses (whose ``code`` the API
layer maps to the protocol's error). Methods block (store I/O); async callers run them in threads.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from tidegate.auth.tasktoken import TaskTokenSigner
from tidegate.clock import now_ms
from tidegate.engine import TaskFailed, TaskSucceeded, start_event
from tidegate.errors import FlowValidationError, TidegateError
from tidegate.flow import validate_flow
from tidegate.jsontext import check_text
from tidegate.jsontext import parse as parse_json
from tidegate.names import MAX_CAUSE_LENGTH, MAX_ERROR_LENGTH, NAME_MAX, NAME_RE
from tidegate.ram import Authorizer
from tidegate.ram.service_roles import FNF_SERVICE, RoleNotUsable, service_role
from tidegate.runtime.cron import compute_next, next_fire_ms, scheduled_execution_name
from tidegate.runtime.driver import end_without_engine
from tidegate.runtime.purge import FlowPurger
from tidegate.runtime.tokens import mark_tokens_bound, token_execution
from tidegate.status import ExecutionStatus
from tidegate.store import (
    ApplyNow,
    ExecutionRecord,
    FlowRecord,
    HistoryRow,
    Page,
    ScheduleRecord,
    Store,
    WaitingTask,
    execution_channel,
)
from tidegate.store.base import FLOW_DELETED

__all__ = ["InvalidArgument", "TaskAlreadyCompleted", "WorkflowService"]

log = logging.getLogger("tidegate.schedules")

NAME_PREFIX_RE = re.compile(rf"[A-Za-z0-9_-]{{0,{NAME_MAX}}}")
#: An execution name as it may already exist: the names the server generates (UUID v4, as the service does)
#: may start with a digit, which a name a client chooses may not.
EXISTING_NAME_RE = re.compile(rf"[A-Za-z0-9_-]{{1,{NAME_MAX}}}")
MAX_DEFINITION = 128 * 1024
MAX_JSON_TEXT = 1024 * 1024
MAX_DESCRIPTION = 1024
MAX_WAIT_S = 60
#: The orders of the waiting-tasks list: oldest first, newest first.
SORT_OLDEST, SORT_NEWEST = "age", "-age"
#: A task as the waiting list names it: ``{StepEntered id}.{attempt}``.
TASK_KEY_RE = re.compile(r"[1-9][0-9]{0,17}\.[1-9][0-9]{0,8}")
# A long-poll waits on the notifier in slices so that a missed cross-process notification (or a
# notifier restart) costs at most one slice of latency.
_WAIT_SLICE_S = 5.0


class InvalidArgument(TidegateError):
    """Parameter error."""

    code = "InvalidArgument"


class TaskAlreadyCompleted(TidegateError):
    """The task has already completed."""

    code = "TaskAlreadyCompleted"


def check_name(kind: str, value: str) -> str:
    """Return ``value`` if it is a valid flow/execution/schedule name, else raise InvalidArgument."""
    if not NAME_RE.fullmatch(value):
        raise InvalidArgument(
            f"The {kind} {value[:140]!r} is invalid: use 1-{NAME_MAX} letters, digits, '_' or '-', "
            "starting with a letter or '_'."
        )
    return value


def check_len(kind: str, value: str, lo: int, hi: int) -> str:
    """Return ``value`` if its length is in ``[lo, hi]`` and it is storable text, else raise InvalidArgument."""
    if not lo <= len(value) <= hi:
        raise InvalidArgument(f"The {kind} must be {lo}-{hi} characters long, not {len(value)}.")
    return check_text(value, f"The {kind}")


def json_object_text(kind: str, text: str) -> dict[str, Any]:
    """Parse ``text`` as a strict JSON object (:func:`tidegate.jsontext.parse`), else raise InvalidArgument."""
    if len(text) > MAX_JSON_TEXT:
        raise InvalidArgument(f"The {kind} is larger than {MAX_JSON_TEXT} bytes.")
    value = parse_json(text, f"The {kind}")
    if not isinstance(value, dict):
        raise InvalidArgument(f"The {kind} must be a JSON object, not {type(value).__name__}.")
    return value


def _check_definition(definition: str) -> None:
    if len(definition) > MAX_DEFINITION:
        raise InvalidArgument(f"The flow definition is larger than {MAX_DEFINITION} bytes.")
    issues = validate_flow(definition, source="Definition")
    if issues:
        raise InvalidArgument(f"The flow definition is not valid:\n{FlowValidationError(issues).message}")


def _name_token(token: str | None) -> str | None:
    """A NextToken of a listing by name: the last name of the previous page."""
    if token and not NAME_RE.fullmatch(token):
        raise InvalidArgument(f"The NextToken {token[:40]!r} is invalid.")
    return token or None


def _status_filter(status: str | None) -> ExecutionStatus | None:
    """The status a listing keeps (``None``: any), else raise InvalidArgument naming the statuses."""
    if not status:
        return None
    try:
        return ExecutionStatus(status)
    except ValueError:
        allowed = ", ".join(ExecutionStatus)
        raise InvalidArgument(f"The status {status[:40]!r} is not one of {allowed}.") from None


def _check_type(flow_type: str) -> str:
    if flow_type not in ("", "FDL"):
        raise InvalidArgument(f"The flow type {flow_type[:40]!r} is not supported; use FDL.")
    return "FDL"


class WorkflowService:
    """Flows, executions, task reports and schedules on one store.

    Args:
        store: the store.
        signer: task-token signer (``KeyRing(root).task_tokens``), shared with the runtime.
        clock: epoch milliseconds.
    """

    def __init__(
        self,
        store: Store,
        signer: TaskTokenSigner,
        clock: Callable[[], int] = now_ms,
        apply_now: ApplyNow | None = None,
        authorizer: Authorizer | None = None,
    ) -> None:
        self.store = store
        #: Checks a flow's RoleArn: a role of this account that trusts the workflow service. None: RoleArn
        #: values are only checked to be text (no access control, as under ``tidegate run``).
        self.authorizer = authorizer
        #: Called with a flow's name after it is created, changed or deleted (the runtime's role cache).
        self.flow_changed: Callable[[str], None] | None = None
        self.signer = signer
        self.clock = clock
        #: The runtime's :meth:`Driver.apply_now`, once a runtime drives this store: a start or a task
        #: report then moves its execution on in the request's own transaction. None: the driver does it.
        self.apply_now = apply_now
        mark_tokens_bound(store, clock())  # tokens minted from now on name their execution's store id
        #: Removes deleted flows' executions in the background (:meth:`delete_flow`).
        self.purger = FlowPurger(store)

    # --- flows -----------------------------------------------------------------------------------

    def create_flow(
        self, name: str, definition: str, description: str = "", flow_type: str = "FDL", role_arn: str = ""
    ) -> FlowRecord:
        """Validate and create a flow. Raises InvalidArgument, FlowAlreadyExists."""
        check_name("flow name", name)
        check_len("description", description, 0, MAX_DESCRIPTION)
        self._role(role_arn)
        _check_definition(definition)
        now = self.clock()
        record = FlowRecord(
            name=name,
            id=str(uuid.uuid4()),
            definition=definition,
            description=description,
            type=_check_type(flow_type),
            role_arn=role_arn,
            created_ms=now,
            modified_ms=now,
        )
        created = self.store.create_flow(record)
        self._changed(name)
        return created

    def update_flow(
        self,
        name: str,
        *,
        definition: str | None = None,
        description: str | None = None,
        flow_type: str | None = None,
        role_arn: str | None = None,
    ) -> FlowRecord:
        """Change a flow; running executions keep their snapshot. Raises InvalidArgument, FlowNotFound."""
        check_name("flow name", name)
        changes: dict[str, Any] = {}
        if definition is not None:
            _check_definition(definition)
            changes["definition"] = definition
        if description is not None:
            changes["description"] = check_len("description", description, 0, MAX_DESCRIPTION)
        if flow_type is not None:
            changes["type"] = _check_type(flow_type)
        if role_arn is not None:
            changes["role_arn"] = self._role(role_arn)
        updated = self.store.update_flow(name, modified_ms=self.clock(), **changes)
        self._changed(name)
        return updated

    def _role(self, role_arn: str) -> str:
        """``role_arn`` if it may be a flow's execution role ("" is the default role), else InvalidArgument."""
        check_text(role_arn, "The RoleArn")
        if role_arn and self.authorizer is not None:
            try:
                service_role(self.authorizer, role_arn, FNF_SERVICE)
            except RoleNotUsable as exc:
                raise InvalidArgument(exc.message) from None
        return role_arn

    def _changed(self, flow: str) -> None:
        if self.flow_changed is not None:
            self.flow_changed(flow)

    def delete_flow(self, name: str) -> None:
        """Delete a flow, its schedules and its executions. Raises FlowNotFound.

        The flow's running executions stop in the same transaction (none of their tasks completes again and
        nothing of them is driven any more); then its executions are removed with everything they own, the
        first batch before this returns and the rest, if any, by :attr:`purger` in the background. A parent
        waiting on one of the stopped executions (a child flow) sees its task fail with ``FnF.FlowDeleted``.
        """
        deleted = self.store.delete_flow(check_name("flow name", name))
        self._changed(name)
        for token in deleted.parent_tokens:
            self._fail_parent_task(token, name)
        if self.store.purge_flow_executions(deleted.id, self.purger.batch) == self.purger.batch:
            self.purger.add(deleted.id)

    def _fail_parent_task(self, token: str, flow_name: str) -> None:
        """A stopped child flow execution fails the parent's task that waits on it, as a stopped child does."""
        try:
            claims = self.signer.claims(token)
        except TidegateError:
            return
        parent = token_execution(self.store, claims)
        if parent is None or parent.ended:
            return
        event = TaskFailed(claims.task_key, FLOW_DELETED, f"Flow {flow_name} was deleted.").to_dict()
        self.store.complete_task(parent.id, claims.task_key, event, self.apply_now)

    def describe_flow(self, name: str) -> FlowRecord:
        """Return a flow. Raises FlowNotFound."""
        return self.store.get_flow(check_name("flow name", name))

    def list_flows(self, limit: int = 60, next_token: str | None = None) -> Page[FlowRecord]:
        """List flows by name."""
        return self.store.list_flows(limit, _name_token(next_token))

    # --- executions ------------------------------------------------------------------------------

    def start_execution(
        self,
        flow_name: str,
        execution_name: str | None = None,
        input_text: str | None = None,
        callback_token: str | None = None,
    ) -> tuple[ExecutionRecord, bool]:
        """Start an execution, or return the running one of the same name (``created=False``).

        Raises:
            InvalidArgument: bad name, non-object Input, garbled callback token.
            FlowNotFound, ExecutionAlreadyExists: from the store.
        """
        check_name("flow name", flow_name)
        name = check_name("execution name", execution_name) if execution_name else str(uuid.uuid4())
        text = input_text if input_text else "{}"
        json_object_text("execution input", text)
        if callback_token:
            self.signer.parse(callback_token)  # a garbled parent token fails now, not at the end
        record = ExecutionRecord(
            flow_name=flow_name,
            name=name,
            definition="",  # the store snapshots the flow's definition in the same transaction
            input=text,
            started_ms=self.clock(),
            callback_token=callback_token or None,
        )
        return self.store.create_execution(record, start_event(), self.apply_now)

    def stop_execution(self, flow_name: str, execution_name: str, error: str = "", cause: str = "") -> ExecutionRecord:
        """Stop a running execution at once and return it ``Stopped``.

        The stop is written in one store transaction without the engine (an ``ExecutionStopped`` event;
        open tasks, timers and queued events are dropped; a parent waiting on it is told), so it works
        whatever state the execution's events are in and whoever holds its lease.

        Raises:
            InvalidArgument: the execution has ended, or Error/Cause are too long.
            FlowNotFound, ExecutionNotFound.
        """
        check_len("error", error, 0, MAX_ERROR_LENGTH)
        check_len("cause", cause, 0, MAX_CAUSE_LENGTH)
        record = self.describe_execution(flow_name, execution_name)
        stopped = None
        if not record.ended:
            stopped = end_without_engine(
                self.store, self.signer, record, ExecutionStatus.STOPPED, error, cause, self.clock
            )
        if stopped is None:
            raise InvalidArgument(f"Execution {execution_name} for flow {flow_name} is not running.")
        return stopped

    def describe_execution(
        self, flow_name: str, execution_name: str, wait_s: float = 0, deadline: float | None = None
    ) -> ExecutionRecord:
        """Return an execution; with ``wait_s`` > 0 wait until it ends or the time passes.

        Args:
            flow_name: the flow.
            execution_name: the execution.
            wait_s: 0-60 seconds of long polling.
            deadline: a ``time.monotonic()`` deadline that overrides ``wait_s`` (for callers that queued).

        Raises:
            InvalidArgument, FlowNotFound, ExecutionNotFound.
        """
        check_name("flow name", flow_name)
        if not EXISTING_NAME_RE.fullmatch(execution_name):
            check_name("execution name", execution_name)  # raises, with the rule for names
        if not 0 <= wait_s <= MAX_WAIT_S:
            raise InvalidArgument(f"WaitTimeSeconds must be 0-{MAX_WAIT_S}.")
        end = deadline if deadline is not None else time.monotonic() + wait_s
        notifier = self.store.notifier
        while True:
            since = notifier.seq()  # taken before the read: a notification in between is not lost
            record = self.store.get_execution(flow_name, execution_name)
            remaining = end - time.monotonic()
            if record.ended or remaining <= 0:
                return record
            notifier.wait(execution_channel(record.id), min(remaining, _WAIT_SLICE_S), since=since)

    def list_executions(
        self,
        flow_name: str,
        *,
        status: str | None = None,
        name_prefix: str | None = None,
        started_from_ms: int | None = None,
        started_to_ms: int | None = None,
        limit: int = 60,
        next_token: str | None = None,
    ) -> Page[ExecutionRecord]:
        """List a flow's executions, oldest first. Raises FlowNotFound, InvalidArgument."""
        check_name("flow name", flow_name)
        wanted = _status_filter(status)
        if name_prefix and not NAME_PREFIX_RE.fullmatch(name_prefix):
            raise InvalidArgument(
                f"The name prefix {name_prefix[:40]!r} is invalid: names use letters, digits, '_', '-'."
            )
        return self.store.list_executions(
            flow_name,
            status=wanted,
            name_prefix=name_prefix or None,
            started_from_ms=started_from_ms,
            started_to_ms=started_to_ms,
            limit=limit,
            next_token=next_token or None,
        )

    def get_history(
        self, flow_name: str, execution_name: str, limit: int = 60, next_token: str | None = None
    ) -> tuple[list[HistoryRow], str | None]:
        """Return one page of history and the token of the next (the next event id), or None.

        Raises:
            InvalidArgument: a bad token. FlowNotFound, ExecutionNotFound.
        """
        after = 0
        if next_token:
            if not next_token.isdigit() or not 0 < int(next_token) < 2**62:
                raise InvalidArgument(f"The NextToken {next_token[:40]!r} is invalid.")
            after = int(next_token) - 1
        record = self.describe_execution(flow_name, execution_name)
        rows = self.store.get_history(record.id, after, limit + 1)
        page = rows[:limit]
        return page, (str(page[-1].event_id + 1) if len(rows) > limit else None)

    # --- task reports ----------------------------------------------------------------------------

    def _open_task(self, token: str) -> tuple[ExecutionRecord, str]:
        claims = self.signer.claims(token)
        record = token_execution(self.store, claims)
        if record is None:
            # A genuine token whose execution is gone (its flow was deleted, perhaps created again since):
            # the task can never complete.
            raise self._completed(token)
        return record, claims.task_key

    @staticmethod
    def _completed(token: str) -> TaskAlreadyCompleted:
        return TaskAlreadyCompleted(f"Task {token[:64]} has already completed.")

    def _complete(self, token: str, record: ExecutionRecord, task_key: str, event: dict[str, Any]) -> int:
        """Complete the task; ``token`` names it in the error (a token, or the task as the waiting list shows it)."""
        if record.ended or not self.store.complete_task(record.id, task_key, event, self.apply_now):
            raise self._completed(token)
        # The runtime appends the Task* event asynchronously; while the execution waits on this task it
        # is the next event, so this is its id (exact for one waiting branch, a best guess otherwise).
        return record.event_count + 1

    def report_task_succeeded(self, token: str, output: str) -> int:
        """Complete a waiting task with ``output`` (a JSON object); return the predicted event id.

        Raises:
            InvalidTaskToken (InvalidArgument): garbled or forged token.
            InvalidArgument: ``output`` is not a JSON object.
            TaskAlreadyCompleted: reported, timed out, cancelled, or the execution ended.
        """
        value = json_object_text("task output", output)
        record, task_key = self._open_task(token)
        return self._complete(token, record, task_key, TaskSucceeded(task_key, value).to_dict())

    def report_task_failed(self, token: str, error: str, cause: str = "") -> int:
        """Fail a waiting task with ``error`` (1-128 chars) and ``cause`` (≤ 4096); errors as above."""
        check_len("error", error, 1, MAX_ERROR_LENGTH)
        check_len("cause", cause, 0, MAX_CAUSE_LENGTH)
        record, task_key = self._open_task(token)
        return self._complete(token, record, task_key, TaskFailed(task_key, error, cause).to_dict())

    def report_task_heartbeat(self, token: str) -> None:
        """Record that the worker of a waiting task is still at it: the task's heartbeat deadline (if its
        step has heartbeatSeconds) moves on by that much. No history event, no engine transition.

        Raises:
            InvalidTaskToken (InvalidArgument): garbled or forged token.
            TaskAlreadyCompleted: reported, timed out (its heartbeat deadline passed), cancelled, or the
                execution ended: the worker should stop.
        """
        record, task_key = self._open_task(token)
        if record.ended or not self.store.heartbeat_task(record.id, task_key, self.clock()):
            raise self._completed(token)

    # --- waiting tasks (operators) ---------------------------------------------------------------

    def list_waiting_tasks(
        self,
        *,
        flow_name: str | None = None,
        sort: str = SORT_OLDEST,
        limit: int = 100,
        next_token: str | None = None,
    ) -> Page[WaitingTask]:
        """The tasks waiting on a callback, across flows or of one: oldest first (``sort="age"``) or newest
        first (``"-age"``). Raises InvalidArgument (a bad sort, flow name or token)."""
        if flow_name:
            check_name("flow name", flow_name)
        if sort not in (SORT_OLDEST, SORT_NEWEST):
            raise InvalidArgument(f"The sort {sort[:40]!r} is not one of {SORT_OLDEST}, {SORT_NEWEST}.")
        return self.store.list_waiting_tasks(
            flow_name=flow_name or None, newest_first=sort == SORT_NEWEST, limit=limit, next_token=next_token or None
        )

    def _waiting_task(self, flow_name: str, execution_name: str, task_key: str) -> tuple[ExecutionRecord, str]:
        if not TASK_KEY_RE.fullmatch(task_key):
            raise InvalidArgument(f"The task {task_key[:40]!r} is invalid: a task is named like 12.1.")
        return self.describe_execution(flow_name, execution_name), f"{task_key} of execution {execution_name}"

    def complete_waiting_task(self, flow_name: str, execution_name: str, task_key: str, output: str) -> int:
        """An operator completes a waiting task (as the waiting list names it) with ``output``, a JSON
        object, as ReportTaskSucceeded would; return the predicted event id.

        Raises:
            InvalidArgument: a bad name, task or output. FlowNotFound, ExecutionNotFound.
            TaskAlreadyCompleted: the task is not open.
        """
        value = json_object_text("task output", output)
        record, label = self._waiting_task(flow_name, execution_name, task_key)
        return self._complete(label, record, task_key, TaskSucceeded(task_key, value).to_dict())

    def fail_waiting_task(self, flow_name: str, execution_name: str, task_key: str, error: str, cause: str = "") -> int:
        """An operator fails a waiting task with ``error`` and ``cause``, as ReportTaskFailed would."""
        check_len("error", error, 1, MAX_ERROR_LENGTH)
        check_len("cause", cause, 0, MAX_CAUSE_LENGTH)
        record, label = self._waiting_task(flow_name, execution_name, task_key)
        return self._complete(label, record, task_key, TaskFailed(task_key, error, cause).to_dict())

    # --- schedules -------------------------------------------------------------------------------

    def create_schedule(
        self,
        flow_name: str,
        name: str,
        cron: str,
        *,
        payload: str = "",
        enable: bool = True,
        description: str = "",
    ) -> ScheduleRecord:
        """Create a schedule. Raises InvalidArgument (InvalidCronExpression), FlowNotFound, ScheduleAlreadyExists."""
        check_name("flow name", flow_name)
        check_name("schedule name", name)
        check_len("description", description, 0, MAX_DESCRIPTION)
        payload = payload or "{}"
        json_object_text("schedule payload", payload)
        now = self.clock()
        record = ScheduleRecord(
            flow_name=flow_name,
            name=name,
            id=str(uuid.uuid4()),
            cron=cron,
            payload=payload,
            enable=enable,
            description=description,
            created_ms=now,
            modified_ms=now,
            next_fire_ms=next_fire_ms(cron, now),
        )
        return self.store.create_schedule(record)

    def update_schedule(
        self,
        flow_name: str,
        name: str,
        *,
        cron: str | None = None,
        payload: str | None = None,
        enable: bool | None = None,
        description: str | None = None,
    ) -> ScheduleRecord:
        """Change a schedule; a new expression restarts its timing from now. Raises ScheduleNotFound…"""
        check_name("flow name", flow_name)
        check_name("schedule name", name)
        now = self.clock()
        changes: dict[str, Any] = {}
        if cron is not None:
            changes["cron"] = cron
            changes["next_fire_ms"] = next_fire_ms(cron, now)
        if payload is not None:
            json_object_text("schedule payload", payload or "{}")
            changes["payload"] = payload or "{}"
        if enable is not None:
            changes["enable"] = enable
        if description is not None:
            changes["description"] = check_len("description", description, 0, MAX_DESCRIPTION)
        return self.store.update_schedule(flow_name, name, modified_ms=now, **changes)

    def delete_schedule(self, flow_name: str, name: str) -> None:
        """Delete a schedule. Raises ScheduleNotFound."""
        self.store.delete_schedule(check_name("flow name", flow_name), check_name("schedule name", name))

    def describe_schedule(self, flow_name: str, name: str) -> ScheduleRecord:
        """Return a schedule. Raises ScheduleNotFound."""
        return self.store.get_schedule(check_name("flow name", flow_name), check_name("schedule name", name))

    def list_schedules(self, flow_name: str, limit: int = 60, next_token: str | None = None) -> Page[ScheduleRecord]:
        """List a flow's schedules by name. Raises FlowNotFound."""
        self.store.get_flow(check_name("flow name", flow_name))
        return self.store.list_schedules(flow_name, limit, _name_token(next_token))

    def fire_due_schedules(self, now_ms: int | None = None, limit: int = 100) -> list[ExecutionRecord]:
        """Start one execution for every enabled schedule due at ``now_ms`` (default: the clock).

        Each due schedule is advanced to its next time and its execution created (``Payload`` as input,
        named by :func:`scheduled_execution_name`) in one store transaction, so every tick fires exactly
        once, across restarts and servers. Missed ticks collapse into one firing.

        Returns:
            The executions started.
        """
        now = self.clock() if now_ms is None else now_ms
        return self.store.fire_due_schedules(
            now, compute_next, lambda schedule, due: scheduled_execution_name(schedule.name, due), start_event(), limit
        )
