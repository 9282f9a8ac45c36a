"""The one error hierarchy of tidegate.

Every error tidegate raises on purpose derives from :class:`TidegateError`. Each component has one branch
(``FlowError``, ``EngineError``, ``StoreError``, ``QueueError``, ``FunctionError``, ``AuthError``,
``ApiError``). A class's docstring is its default message and ``code`` is a stable machine-readable name;
the API layer maps codes to the protocol's own error format in one place.

This module imports nothing from tidegate, so every package (including ``flow``) may import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


class TidegateError(Exception):
    """An unexpected error occurred in tidegate."""

    code: ClassVar[str] = "InternalError"

    def __init__(self, message: str | None = None) -> None:
        self.message = message if message is not None else (type(self).__doc__ or "").strip()
        super().__init__(self.message)


# --- flow -------------------------------------------------------------------------------------------


class FlowError(TidegateError):
    """The flow definition is not valid."""

    code = "InvalidDefinition"


@dataclass(frozen=True, slots=True)
class FlowIssue:
    """One problem found in a flow definition.

    ``path`` is the location inside the document (``steps[2].choices[0].goto``), ``line`` the 1-based
    line in the source text when the source has one.
    """

    path: str
    message: str
    line: int | None = None
    source: str | None = None

    def __str__(self) -> str:
        where = self.source or "<flow>"
        if self.line is not None:
            where += f":{self.line}"
        loc = f" {self.path}:" if self.path else ""
        return f"{where}:{loc} {self.message}"

    def to_dict(self) -> dict[str, object]:
        return {"source": self.source, "line": self.line, "path": self.path, "message": self.message}


class FlowValidationError(FlowError):
    """The flow definition is not valid."""

    def __init__(self, issues: list[FlowIssue]) -> None:
        self.issues = list(issues)
        super().__init__("\n".join(str(i) for i in self.issues) or None)


class UnsupportedFlowSyntax(FlowError):
    """This flow syntax is not supported."""


# --- engine -----------------------------------------------------------------------------------------


class EngineError(TidegateError):
    """The workflow engine could not apply an event."""


class InvalidTransition(EngineError):
    """The event does not apply to the execution in its current state."""


# --- store ------------------------------------------------------------------------------------------


class StoreError(TidegateError):
    """The store failed."""

    code = "StoreError"


class StoreUnavailable(StoreError):
    """The store cannot be reached."""

    code = "StoreUnavailable"


class ConflictError(StoreError):
    """The object already exists or was changed concurrently."""

    code = "Conflict"


class NotFoundError(StoreError):
    """The object does not exist."""

    code = "NotFound"


class ConfigurationError(TidegateError):
    """tidegate is not configured correctly."""

    code = "ConfigurationError"


# --- message queue ----------------------------------------------------------------------------------


class QueueError(TidegateError):
    """The message service refused the request."""

    code = "InvalidArgument"


# --- functions --------------------------------------------------------------------------------------


class FunctionError(TidegateError):
    """The function could not be run."""

    code = "FC.Unknown"


# --- auth -------------------------------------------------------------------------------------------


class AuthError(TidegateError):
    """The request could not be authenticated."""

    code = "AccessDenied"
