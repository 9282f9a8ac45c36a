"""The function runtime: user Python handlers run in a pool of worker processes.

Event handlers are called as ``handler(event, context)`` with ``event`` as **bytes** (as in Function
Compute's Python runtime); HTTP handlers are WSGI apps ``handler(environ, start_response)`` with
``environ['fc.context']``. See ``docs/functions.md``.
"""

from __future__ import annotations

from tidegate.functions._isolation import (
    DEFAULT_FUNCTION_UID,
    Isolation,
    IsolationError,
    IsolationMode,
    close_own_proc_entries,
)
from tidegate.functions._local import resolve_local_function
from tidegate.functions._model import (
    FUNCTION_NOT_FOUND,
    FUNCTION_TIMEOUT,
    HANDLER_IMPORT_ERROR,
    HANDLER_NOT_FOUND,
    INITIALIZER_ERROR,
    INVALID_RESPONSE,
    LOG_TAIL_BYTES,
    OUT_OF_MEMORY,
    UNKNOWN,
    Credentials,
    FunctionKind,
    FunctionNotFound,
    FunctionSpec,
    HttpRequest,
    HttpResult,
    InvocationContext,
    InvocationResult,
    RunnerClosed,
    WrongFunctionKind,
    log_tail,
)
from tidegate.functions._runner import FunctionRunner, default_workers

__all__ = [
    "DEFAULT_FUNCTION_UID",
    "FUNCTION_NOT_FOUND",
    "FUNCTION_TIMEOUT",
    "HANDLER_IMPORT_ERROR",
    "HANDLER_NOT_FOUND",
    "INITIALIZER_ERROR",
    "INVALID_RESPONSE",
    "LOG_TAIL_BYTES",
    "OUT_OF_MEMORY",
    "UNKNOWN",
    "Credentials",
    "FunctionKind",
    "FunctionNotFound",
    "FunctionRunner",
    "FunctionSpec",
    "HttpRequest",
    "HttpResult",
    "InvocationContext",
    "InvocationResult",
    "Isolation",
    "IsolationError",
    "IsolationMode",
    "RunnerClosed",
    "WrongFunctionKind",
    "close_own_proc_entries",
    "default_workers",
    "log_tail",
    "resolve_local_function",
]
