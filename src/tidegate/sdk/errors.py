"""The SDK's errors. The SDK imports nothing of tidegate, so it has a small hierarchy of its own."""

from __future__ import annotations

__all__ = ["ConfigError", "MissingCredentials", "SdkError", "ServiceError", "TaskFailed"]

#: Error codes that mean the service does not know an action (tidegate, Alibaba Cloud's API gateway).
UNKNOWN_ACTION_CODES = frozenset({"ActionNotSupported", "InvalidAction", "InvalidAction.NotFound"})


class SdkError(Exception):
    """Base of the SDK's own errors."""


class ConfigError(SdkError):
    """Endpoints or credentials are missing or malformed."""


class MissingCredentials(ConfigError):
    """No credentials were given and none are in the environment."""


class ServiceError(SdkError):
    """The service answered with an error document (MNS ``<Error>`` or RPC JSON).

    Attributes:
        status: the HTTP status.
        code: the error code (``MessageNotExist``, ``TaskAlreadyCompleted``…).
        message: the service's message.
        request_id: the request id, for the service's logs.
    """

    def __init__(self, status: int, code: str, message: str = "", request_id: str = "") -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id

    @property
    def retryable(self) -> bool:
        """True when the same request may succeed later: server errors, throttling, credentials refused.

        Credentials count as retryable because a worker's keys can be fixed (or its temporary keys
        refreshed) while it runs; dropping the task would lose it.
        """
        return self.status >= 500 or self.status in (401, 403, 408, 429) or self.code.startswith("Throttling")


class TaskFailed(Exception):
    """Raise in a handler to report the task failed with ``error`` and ``cause`` (ReportTaskFailed).

    Args:
        error: the error name the flow's ``retry`` and ``catch`` match on.
        cause: why, in words.
    """

    def __init__(self, error: str, cause: str = "") -> None:
        super().__init__(f"{error}: {cause}" if cause else error)
        self.error = error
        self.cause = cause
