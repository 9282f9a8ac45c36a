"""Errors raised by the store, each a subclass of the ``StoreError`` branch of :mod:`tidegate.errors`.

The API layer maps ``code`` to the protocol's error names (``FlowNotExists`` …), so the classes carry the
FnF codes of docs/api.md directly.
"""

from __future__ import annotations

from tidegate.errors import ConflictError, NotFoundError, StoreError


class FlowNotFound(NotFoundError):
    """The flow does not exist."""

    code = "FlowNotExists"


class ExecutionNotFound(NotFoundError):
    """The execution does not exist."""

    code = "ExecutionNotExists"


class ScheduleNotFound(NotFoundError):
    """The schedule does not exist."""

    code = "ScheduleNotExists"


class FlowAlreadyExists(ConflictError):
    """The flow already exists."""

    code = "FlowAlreadyExists"


class ExecutionAlreadyExists(ConflictError):
    """An execution with this name already ended; names stay reserved."""

    code = "ExecutionAlreadyExists"


class ScheduleAlreadyExists(ConflictError):
    """The schedule already exists."""

    code = "ScheduleAlreadyExists"


class VersionConflict(ConflictError):
    """The execution was changed concurrently; nothing of the batch was written."""

    def __init__(self, execution_id: int, expected_version: int) -> None:
        self.execution_id = execution_id
        self.expected_version = expected_version
        super().__init__(f"execution {execution_id} is not at version {expected_version}")


class HistoryGap(StoreError):
    """History event ids must continue the execution's dense sequence."""


class UnreadableRecord(StoreError):
    """A stored row (an execution's state, a queued event) is not what this version can read."""


class InvalidPageToken(StoreError):
    """The page token is not valid."""

    code = "InvalidArgument"


__all__ = [
    "ExecutionAlreadyExists",
    "ExecutionNotFound",
    "FlowAlreadyExists",
    "FlowNotFound",
    "HistoryGap",
    "InvalidPageToken",
    "ScheduleAlreadyExists",
    "ScheduleNotFound",
    "UnreadableRecord",
    "VersionConflict",
]
