"""The public names of ``tidegate.functions`` are deliberate."""

from __future__ import annotations

import tidegate.functions as functions


def test_exported_names() -> None:
    assert sorted(functions.__all__) == sorted(
        [
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
    )
    for name in functions.__all__:
        assert getattr(functions, name) is not None
