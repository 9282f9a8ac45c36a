"""The integration interface and the registry that picks one by resource kind."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from tidegate.engine import InvokeTask, TaskFailed, TaskSucceeded
from tidegate.flow.model import ResourceKind

UNAVAILABLE = "FnF.IntegrationUnavailable"
"""The error of a task whose target this tidegate process cannot reach."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskJob:
    """One attempt of one task step, as the executor claimed it from the store."""

    execution_id: int
    flow_name: str
    execution_name: str
    command: InvokeTask

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> TaskJob:
        """Rebuild from :func:`tidegate.runtime.translate.job_payload` output."""
        return cls(
            execution_id=int(payload["execution_id"]),
            flow_name=payload["flow_name"],
            execution_name=payload["execution_name"],
            command=InvokeTask.from_dict(payload["command"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """What running a task produced.

    ``event`` completes the task (a ``TaskSucceeded``/``TaskFailed`` dict); ``submitted`` means the task
    now waits for a callback with its token (the engine is told with ``TaskSubmitted``, whose history
    event carries ``detail``).
    """

    event: dict[str, Any] | None = None
    submitted: bool = False
    detail: dict[str, Any] | None = None


def succeeded(job: TaskJob, output: Any, detail: dict[str, Any] | None = None) -> Outcome:
    """The task succeeded with ``output`` (the engine checks that it is a JSON object).

    ``detail``: fields added to the ``TaskSucceeded`` history event (never to the step's data).
    """
    return Outcome(event=TaskSucceeded(job.command.task_key, output, detail).to_dict())


def failed(job: TaskJob, error: str, cause: str, detail: dict[str, Any] | None = None) -> Outcome:
    """The task failed with ``error`` and ``cause`` (retry and catch apply); ``detail`` as in :func:`succeeded`."""
    return Outcome(event=TaskFailed(job.command.task_key, error, cause, detail).to_dict())


def submitted(detail: dict[str, Any] | None = None) -> Outcome:
    """The task now waits for its token to be reported; ``detail`` goes into the ``TaskSubmitted`` event."""
    return Outcome(submitted=True, detail=detail)


class Integration(Protocol):
    """Runs task attempts of one resource kind; must be thread-safe."""

    def run(self, job: TaskJob) -> Outcome:
        """Run one attempt; never raises for a failure of the target (return :func:`failed`)."""
        ...


class _Unavailable:
    """The target kind has no service in this process (e.g. a queue under ``tidegate run``)."""

    def __init__(self, why: str) -> None:
        self.why = why

    def run(self, job: TaskJob) -> Outcome:
        return failed(job, UNAVAILABLE, f"{job.command.resource.text}: {self.why}")


class Registry:
    """Integrations by resource kind; kinds without one fail their tasks with a clear error."""

    def __init__(self) -> None:
        self._by_kind: dict[ResourceKind, Integration] = {}

    def register(self, kind: ResourceKind, integration: Integration) -> None:
        """Use ``integration`` for tasks whose resource is of ``kind``."""
        self._by_kind[kind] = integration

    def register_default(self, kind: ResourceKind, integration: Integration) -> None:
        """Use ``integration`` for ``kind`` unless one is registered already."""
        self._by_kind.setdefault(kind, integration)

    def get(self, kind: ResourceKind) -> Integration:
        """Return the integration of ``kind``."""
        found = self._by_kind.get(kind)
        if found is not None:
            return found
        what = {
            ResourceKind.QUEUE: "message queues are served by `tidegate server`; this process has none",
            ResourceKind.TOPIC: "message topics are served by `tidegate server`; this process has none",
            ResourceKind.FLOW: "no child-flow integration is configured",
            ResourceKind.ACTION: "no API-action integration is configured",
            ResourceKind.FUNCTION: "no function runtime is configured (pass --functions DIR)",
        }[kind]
        return _Unavailable(what)
