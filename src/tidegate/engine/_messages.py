"""Commands (engine → runtime) and events (runtime → engine).

All are frozen dataclasses with ``to_dict()``/``from_dict()``; ``to_dict()`` adds a ``"type"`` tag so that
:func:`command_from_dict` and :func:`event_from_dict` can rebuild the right class from storage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, TypeAlias

from tidegate.errors import EngineError
from tidegate.flow.model import JSON, Pattern, Resource, ResourceKind


def resource_to_dict(r: Resource) -> dict[str, str]:
    """Serialise a :class:`~tidegate.flow.model.Resource`."""
    return {
        "kind": str(r.kind),
        "text": r.text,
        "name": r.name,
        "region": r.region,
        "account": r.account,
        "service": r.service,
        "qualifier": r.qualifier,
        "product": r.product,
    }


def resource_from_dict(d: dict[str, str]) -> Resource:
    """Rebuild a :class:`~tidegate.flow.model.Resource` from :func:`resource_to_dict` output."""
    return Resource(
        kind=ResourceKind(d["kind"]),
        text=d["text"],
        name=d["name"],
        region=d.get("region", ""),
        account=d.get("account", ""),
        service=d.get("service", ""),
        qualifier=d.get("qualifier", ""),
        product=d.get("product", ""),
    )


START = "Start"
"""The ``type`` of the inbox event that starts an execution (the runtime calls :func:`start` for it)."""


def start_event() -> dict[str, Any]:
    """The inbox event that starts an execution."""
    return {"type": START}


# --- commands ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class InvokeTask:
    """Run one attempt of a task step. ``token`` is the minted token of ``task_key``."""

    TYPE: ClassVar[str] = "InvokeTask"
    task_key: str
    step_name: str
    step_path: str
    resource: Resource
    pattern: Pattern
    input: dict[str, Any]
    params: dict[str, Any]
    token: str
    attempt: int
    timeout_seconds: int | None
    heartbeat_seconds: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict with a ``type`` tag."""
        return {
            "type": self.TYPE,
            "task_key": self.task_key,
            "step_name": self.step_name,
            "step_path": self.step_path,
            "resource": resource_to_dict(self.resource),
            "pattern": str(self.pattern),
            "input": self.input,
            "params": self.params,
            "token": self.token,
            "attempt": self.attempt,
            "timeout_seconds": self.timeout_seconds,
            "heartbeat_seconds": self.heartbeat_seconds,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> InvokeTask:
        """Rebuild from :meth:`to_dict` output."""
        return cls(
            task_key=d["task_key"],
            step_name=d["step_name"],
            step_path=d["step_path"],
            resource=resource_from_dict(d["resource"]),
            pattern=Pattern(d["pattern"]),
            input=d["input"],
            params=d["params"],
            token=d["token"],
            attempt=int(d["attempt"]),
            timeout_seconds=d["timeout_seconds"],
            heartbeat_seconds=d.get("heartbeat_seconds"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class StartTimer:
    """Deliver ``TimerFired(timer_key)`` at ``fire_at_ms`` (epoch milliseconds).

    ``task_key`` names the open task attempt the timer ends when it fires (its timeout or heartbeat timer):
    the runtime closes that task as the timer fires, so a report arriving later is refused. With
    ``heartbeat_ms`` (a heartbeat timer), each heartbeat of that task moves the timer to the heartbeat's
    time plus ``heartbeat_ms``, outside the engine.
    """

    TYPE: ClassVar[str] = "StartTimer"
    timer_key: str
    fire_at_ms: int
    task_key: str | None = None
    heartbeat_ms: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict with a ``type`` tag."""
        return {
            "type": self.TYPE,
            "timer_key": self.timer_key,
            "fire_at_ms": self.fire_at_ms,
            "task_key": self.task_key,
            "heartbeat_ms": self.heartbeat_ms,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StartTimer:
        """Rebuild from :meth:`to_dict` output."""
        return cls(
            timer_key=d["timer_key"],
            fire_at_ms=int(d["fire_at_ms"]),
            task_key=d.get("task_key"),
            heartbeat_ms=d.get("heartbeat_ms"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelTimer:
    """The timer is no longer needed (firing it anyway is harmless: the engine answers StaleEvent)."""

    TYPE: ClassVar[str] = "CancelTimer"
    timer_key: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict with a ``type`` tag."""
        return {"type": self.TYPE, "timer_key": self.timer_key}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CancelTimer:
        """Rebuild from :meth:`to_dict` output."""
        return cls(timer_key=d["timer_key"])


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelTask:
    """The task attempt was abandoned; later reports of its token must answer TaskAlreadyCompleted."""

    TYPE: ClassVar[str] = "CancelTask"
    task_key: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict with a ``type`` tag."""
        return {"type": self.TYPE, "task_key": self.task_key}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CancelTask:
        """Rebuild from :meth:`to_dict` output."""
        return cls(task_key=d["task_key"])


Command: TypeAlias = InvokeTask | StartTimer | CancelTimer | CancelTask


# --- events -----------------------------------------------------------------------------------------


def _with_detail(d: dict[str, Any], detail: dict[str, Any] | None) -> dict[str, Any]:
    if detail:
        d["detail"] = detail
    return d


def _detail_of(d: dict[str, Any]) -> dict[str, Any] | None:
    detail = d.get("detail")
    return detail if isinstance(detail, dict) and detail else None


# ``detail`` of the task events: what the integration reports about the invocation (a function's request
# id, log tail, stack trace). The engine adds it to the history event's detail and nowhere else: it is
# never step data, so it counts for no data limit, and its own fields never replace the event's
# (``output``, ``error``, ``cause``).


@dataclass(frozen=True, slots=True)
class TaskSubmitted:
    """The integration call of a waitForCallback (or async) task succeeded; the task now waits."""

    TYPE: ClassVar[str] = "TaskSubmitted"
    task_key: str
    detail: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict with a ``type`` tag."""
        return _with_detail({"type": self.TYPE, "task_key": self.task_key}, self.detail)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TaskSubmitted:
        """Rebuild from :meth:`to_dict` output."""
        return cls(d["task_key"], _detail_of(d))


@dataclass(frozen=True, slots=True)
class TaskSucceeded:
    """The task attempt produced ``output`` (must be a JSON object, else FnF.InvalidLocal)."""

    TYPE: ClassVar[str] = "TaskSucceeded"
    task_key: str
    output: JSON
    detail: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict with a ``type`` tag."""
        return _with_detail({"type": self.TYPE, "task_key": self.task_key, "output": self.output}, self.detail)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TaskSucceeded:
        """Rebuild from :meth:`to_dict` output."""
        return cls(d["task_key"], d["output"], _detail_of(d))


@dataclass(frozen=True, slots=True)
class TaskFailed:
    """The task attempt failed with ``error`` (the name retry/catch match) and ``cause``."""

    TYPE: ClassVar[str] = "TaskFailed"
    task_key: str
    error: str
    cause: str
    detail: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict with a ``type`` tag."""
        d = {"type": self.TYPE, "task_key": self.task_key, "error": self.error, "cause": self.cause}
        return _with_detail(d, self.detail)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TaskFailed:
        """Rebuild from :meth:`to_dict` output."""
        return cls(d["task_key"], d["error"], d["cause"], _detail_of(d))


@dataclass(frozen=True, slots=True)
class TimerFired:
    """A timer started with :class:`StartTimer` is due."""

    TYPE: ClassVar[str] = "TimerFired"
    timer_key: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict with a ``type`` tag."""
        return {"type": self.TYPE, "timer_key": self.timer_key}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TimerFired:
        """Rebuild from :meth:`to_dict` output."""
        return cls(d["timer_key"])


@dataclass(frozen=True, slots=True)
class StopRequested:
    """StopExecution: end the execution with status Stopped."""

    TYPE: ClassVar[str] = "StopRequested"
    error: str
    cause: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict with a ``type`` tag."""
        return {"type": self.TYPE, "error": self.error, "cause": self.cause}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StopRequested:
        """Rebuild from :meth:`to_dict` output."""
        return cls(d["error"], d["cause"])


EngineEvent: TypeAlias = TaskSubmitted | TaskSucceeded | TaskFailed | TimerFired | StopRequested

_COMMANDS: dict[str, Any] = {c.TYPE: c for c in (InvokeTask, StartTimer, CancelTimer, CancelTask)}
_EVENTS: dict[str, Any] = {e.TYPE: e for e in (TaskSubmitted, TaskSucceeded, TaskFailed, TimerFired, StopRequested)}


def command_from_dict(d: dict[str, Any]) -> Command:
    """Rebuild any command from its ``to_dict()`` output.

    Raises:
        EngineError: unknown ``type`` tag.
    """
    cls = _COMMANDS.get(d.get("type", ""))
    if cls is None:
        raise EngineError(f"unknown command type {d.get('type')!r}")
    result: Command = cls.from_dict(d)
    return result


def event_from_dict(d: dict[str, Any]) -> EngineEvent:
    """Rebuild any engine event from its ``to_dict()`` output.

    Raises:
        EngineError: unknown ``type`` tag.
    """
    cls = _EVENTS.get(d.get("type", ""))
    if cls is None:
        raise EngineError(f"unknown event type {d.get('type')!r}")
    result: EngineEvent = cls.from_dict(d)
    return result
