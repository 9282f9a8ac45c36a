"""The data the function runtime takes and returns: specs, contexts, requests and results.

Plain frozen dataclasses with no behaviour beyond small conveniences, so the runtime, the integrations and
the API layer can share them without importing the process pool.
"""

from __future__ import annotations

import json
import math
import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tidegate.errors import FunctionError
from tidegate.names import DEFAULT_REGION

# Error names the runtime itself produces (function errors carry the exception's class name instead).
# FC platform errors are named ``FC.<Code>``; see docs/functions.md for when each occurs.
FUNCTION_NOT_FOUND = "FC.FunctionNotFound"
HANDLER_NOT_FOUND = "FC.HandlerNotFound"
HANDLER_IMPORT_ERROR = "FC.HandlerImportError"
INITIALIZER_ERROR = "FC.InitializerError"
FUNCTION_TIMEOUT = "FC.FunctionTimeout"
INVALID_RESPONSE = "FC.InvalidResponse"
OUT_OF_MEMORY = "FC.OutOfMemory"
UNKNOWN = "FC.Unknown"

FunctionKind = Literal["event", "http"]

LOG_TAIL_BYTES = 4096
"""The log tail Function Compute returns (``X-Fc-Log-Result``): the last 4 KB of an invocation's output.

tidegate keeps the same tail with an execution's history and sends it for ``X-Fc-Log-Type: Tail``."""


def log_tail(logs: str, limit: int = LOG_TAIL_BYTES) -> str:
    """The last ``limit`` bytes of ``logs`` as UTF-8, starting at a character boundary (so maybe fewer)."""
    if len(logs) * 4 <= limit:  # no character takes more than 4 bytes
        return logs
    raw = logs.encode("utf-8", "replace")
    if len(raw) <= limit:
        return logs
    start = len(raw) - limit
    while start < len(raw) and raw[start] & 0xC0 == 0x80:  # a continuation byte: not a character's start
        start += 1
    return raw[start:].decode("utf-8", "replace")


class FunctionNotFound(FunctionError):
    """The function does not exist."""

    code = FUNCTION_NOT_FOUND


class RunnerClosed(FunctionError):
    """The function runner is closed."""


class WrongFunctionKind(FunctionError):
    """The function is not of the kind this call needs (event or http)."""

    code = "FC.InvalidArgument"


@dataclass(frozen=True)
class FunctionSpec:
    """Where a function's code lives and how to run it.

    Attributes:
        service: The FC service name (used for ``context.service.name``).
        name: The function name.
        code_dir: The folder holding the handler module; it becomes the worker's cwd and ``sys.path[0]``.
        handler: ``module.attr`` (``pkg.mod.attr`` works too) resolved inside ``code_dir``.
        kind: ``event`` for ``handler(event, context)``, ``http`` for a WSGI app
            ``handler(environ, start_response)``.
        timeout_s: Wall-clock limit of one invocation; the worker is killed when it is exceeded.
        env: Extra environment variables visible (in ``os.environ``) while the function runs.
        initializer: Optional ``module.attr`` called as ``initializer(context)`` once per loaded code.
        memory_mb: ``context.function.memory``, and the worker's address-space limit (plus a margin: see
            docs/functions.md, "Isolation and limits").
    """

    service: str
    name: str
    code_dir: Path
    handler: str = "index.handler"
    kind: FunctionKind = "event"
    timeout_s: float = 60.0
    # Left out of the hash (a dict cannot be hashed) but compared: specs can key caches.
    env: Mapping[str, str] = field(default_factory=dict, hash=False)
    initializer: str | None = None
    memory_mb: int = 128

    def __post_init__(self) -> None:
        # An absolute path without touching the disk: the worker keys its module cache by this string.
        object.__setattr__(self, "code_dir", Path(os.path.abspath(self.code_dir)))
        object.__setattr__(self, "env", dict(self.env))  # a private copy: later changes must not leak in
        if not self.timeout_s > 0:
            raise ValueError(f"timeout_s must be positive, got {self.timeout_s!r}")


@dataclass(frozen=True)
class Credentials:
    """Temporary keys handed to a function (``context.credentials``)."""

    access_key_id: str = ""
    access_key_secret: str = ""
    security_token: str = ""


@dataclass(frozen=True)
class InvocationContext:
    """Per-invocation facts; the function's own name, handler, memory and timeout come from the spec."""

    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    region: str = DEFAULT_REGION
    account_id: str = ""
    credentials: Credentials = field(default_factory=Credentials)
    qualifier: str = "LATEST"


@dataclass(frozen=True)
class InvocationResult:
    """The outcome of one event invocation.

    ``payload`` is the handler's return value serialised: bytes as is, ``str`` as UTF-8, ``None`` as
    ``b""``, anything else as JSON. When ``ok`` is false, ``error_type`` is the exception class name (a
    function error) or an ``FC.*`` name (a platform error) and ``payload`` is empty. ``logs`` is the tail
    of the invocation's output (the runner's ``log_limit``), ``log_bytes`` how many bytes it wrote in all.
    """

    ok: bool
    payload: bytes = b""
    error_type: str | None = None
    error_message: str | None = None
    stack: list[str] = field(default_factory=list)
    duration_ms: float = 0.0
    logs: str = ""
    log_bytes: int = 0

    def json(self) -> Any:
        """Parse the payload as JSON (raises ``ValueError`` when it is not JSON)."""
        return json.loads(self.payload)

    def error_document(self) -> dict[str, Any]:
        """The error in Function Compute's body shape: ``errorMessage``, ``errorType``, ``stackTrace``."""
        return {"errorMessage": self.error_message, "errorType": self.error_type, "stackTrace": self.stack}


@dataclass(frozen=True)
class HttpRequest:
    """An HTTP request for a WSGI function, already read in full.

    Attributes:
        method: The request method.
        path: The raw (percent-encoded) path *below* the trigger prefix; becomes ``PATH_INFO`` decoded.
        query: The raw query string without ``?``.
        headers: Header pairs in arrival order; repeated names are joined with ``,`` in the environ.
        body: The whole request body (``CONTENT_LENGTH`` is its length).
        remote_addr: The client address (``REMOTE_ADDR``).
        scheme: ``wsgi.url_scheme``.
        server_name: ``SERVER_NAME``.
        server_port: ``SERVER_PORT``.
        request_uri: ``environ['fc.request_uri']``; defaults to ``path`` plus ``?query``.
    """

    method: str = "GET"
    path: str = "/"
    query: str = ""
    headers: Sequence[tuple[str, str]] = ()
    body: bytes = b""
    remote_addr: str = "127.0.0.1"
    scheme: str = "http"
    server_name: str = "localhost"
    server_port: int = 80
    request_uri: str | None = None

    def to_wire(self) -> dict[str, Any]:
        """The JSON-able part sent to a worker (the body travels separately)."""
        uri = self.request_uri
        if uri is None:
            uri = self.path + (f"?{self.query}" if self.query else "")
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": [[k, v] for k, v in self.headers],
            "remote_addr": self.remote_addr,
            "scheme": self.scheme,
            "server_name": self.server_name,
            "server_port": self.server_port,
            "request_uri": uri,
        }


@dataclass(frozen=True)
class HttpResult:
    """The outcome of one WSGI invocation.

    On a function or platform failure ``ok`` is false, ``status`` is 502 and ``body`` is the Function
    Compute error document (JSON with ``errorMessage``, ``errorType``, ``stackTrace``).
    """

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    ok: bool = True
    error_type: str | None = None
    error_message: str | None = None
    stack: list[str] = field(default_factory=list)
    duration_ms: float = 0.0
    logs: str = ""
    log_bytes: int = 0


def context_to_wire(spec: FunctionSpec, ctx: InvocationContext) -> dict[str, Any]:
    """The context as the worker rebuilds it (``context.function`` etc. filled from the spec)."""
    creds = ctx.credentials
    return {
        "request_id": ctx.request_id,
        "region": ctx.region,
        "account_id": ctx.account_id,
        "credentials": [creds.access_key_id, creds.access_key_secret, creds.security_token],
        "function": {
            "name": spec.name,
            "handler": spec.handler,
            "memory": spec.memory_mb,
            "timeout": math.ceil(spec.timeout_s),
            "initializer": spec.initializer,
        },
        "service": {"name": spec.service, "qualifier": ctx.qualifier},
    }


def invocation_env(spec: FunctionSpec, ctx: InvocationContext) -> dict[str, str]:
    """The environment overlay of one invocation: FC's own variables, the spec's env, the keys."""
    env = {
        "FC_SERVICE_NAME": spec.service,
        "FC_FUNCTION_NAME": spec.name,
        "FC_FUNCTION_HANDLER": spec.handler,
        "FC_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "FC_REGION": ctx.region,
        "FC_ACCOUNT_ID": ctx.account_id,
        "FC_QUALIFIER": ctx.qualifier,
    }
    env.update(spec.env)
    creds = ctx.credentials
    if creds.access_key_id:
        env["ALIBABA_CLOUD_ACCESS_KEY_ID"] = creds.access_key_id
        env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] = creds.access_key_secret
        if creds.security_token:
            env["ALIBABA_CLOUD_SECURITY_TOKEN"] = creds.security_token
    return env
