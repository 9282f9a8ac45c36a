"""The registry of deployed functions: one row per ``service/function`` in the store.

A :class:`FunctionRecord` says where the code lives on the server machine (tidegate is self-hosted, so a
function is a folder, not an uploaded archive), how to call it and whether it has an HTTP trigger. The
registry is a store domain like the message service: its queries live in ``store/sql/functions.sql`` and
run on the store's :class:`~tidegate.store.database.Database`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from tidegate.clock import now_ms
from tidegate.deploy.errors import InvalidFunction
from tidegate.functions import FunctionKind, FunctionSpec
from tidegate.names import NAME_RE
from tidegate.store.database import Database, load_queries

__all__ = [
    "HTTP_METHODS",
    "FunctionRecord",
    "FunctionRegistry",
    "ServiceRecord",
    "TriggerAuth",
    "check_function_name",
    "trigger_auth",
]


class TriggerAuth(StrEnum):
    """An HTTP trigger's ``authType``, as Function Compute names them."""

    ANONYMOUS = "anonymous"  # anyone who reaches the port
    FUNCTION = "function"  # a request signed with an AccessKey allowed fc:InvokeFunction on the function


def trigger_auth(value: object, where: str = "authType") -> TriggerAuth:
    """The :class:`TriggerAuth` ``value`` names (any case).

    Raises:
        InvalidFunction: not one of them.
    """
    try:
        return TriggerAuth(str(value).lower())
    except ValueError:
        allowed = ", ".join(TriggerAuth)
        raise InvalidFunction(f"{where} must be one of {allowed}, got {str(value)[:40]!r}.") from None


#: The methods an HTTP trigger may allow (Function Compute's list).
HTTP_METHODS = ("GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS")
_HANDLER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+")


def check_function_name(name: str, what: str = "function") -> str:
    """Validate a service or function name (``[A-Za-z_][A-Za-z0-9_-]*``, at most 128 characters).

    Raises:
        InvalidFunction: the name breaks the rule.
    """
    if not NAME_RE.fullmatch(name):  # Function Compute's naming rule for services and functions
        raise InvalidFunction(f"The {what} name {name[:64]!r} is invalid: use letters, digits, '_' and '-'.")
    return name


@dataclass(frozen=True, slots=True, kw_only=True)
class FunctionRecord:
    """A deployed function.

    Attributes:
        service: The service (namespace) name.
        name: The function name.
        code_dir: Absolute path of the code folder on the server machine.
        handler: ``module.attr`` inside the code folder.
        kind: ``event`` (``handler(event, context)``) or ``http`` (WSGI).
        timeout_s: Wall-clock limit of one invocation.
        memory_mb: Reported to the function; not enforced.
        env: Environment variables of the function.
        initializer: Optional ``module.attr`` run once per loaded code.
        http_trigger: Whether ``/2016-08-15/proxy/SERVICE/FUNCTION/…`` serves it (``http`` functions only).
        http_methods: The methods the trigger accepts.
        http_auth: Who may call the trigger (``anonymous`` or ``function``: a signed request).
        requirements: pip requirement strings installed for the function on the server.
        description: Free text.
        created_ms / modified_ms: Epoch milliseconds (set by the registry).
    """

    service: str
    name: str
    code_dir: str
    handler: str = "index.handler"
    kind: FunctionKind = "event"
    timeout_s: float = 60.0
    memory_mb: int = 128
    env: Mapping[str, str] = field(default_factory=dict)
    initializer: str | None = None
    http_trigger: bool = False
    http_methods: tuple[str, ...] = ()
    http_auth: TriggerAuth = TriggerAuth.ANONYMOUS
    requirements: tuple[str, ...] = ()
    description: str = ""
    created_ms: int = 0
    modified_ms: int = 0

    def validate(self) -> FunctionRecord:
        """Check every field; return the record with normalised methods.

        Raises:
            InvalidFunction: a field is out of range or malformed.
        """
        check_function_name(self.service, "service")
        check_function_name(self.name)
        if not Path(self.code_dir).is_absolute():
            raise InvalidFunction(f"code_dir must be an absolute path on the server, got {self.code_dir!r}.")
        if not Path(self.code_dir).is_dir():
            raise InvalidFunction(f"code_dir {self.code_dir} is not a folder on the server.")
        for what, value in (("handler", self.handler), ("initializer", self.initializer)):
            if value is not None and not _HANDLER.fullmatch(value):
                raise InvalidFunction(f"{what} must look like 'module.function', got {value!r}.")
        if self.kind not in ("event", "http"):
            raise InvalidFunction(f"kind must be 'event' or 'http', got {self.kind!r}.")
        if not 0 < self.timeout_s <= 86400:
            raise InvalidFunction("timeout must be between 1 and 86400 seconds.")
        if not 64 <= self.memory_mb <= 32768:
            raise InvalidFunction("memory must be between 64 and 32768 MB.")
        methods, auth = self._trigger()
        for k, v in self.env.items():
            if not isinstance(k, str) or not isinstance(v, str) or not k or "=" in k or "\0" in k + v:
                raise InvalidFunction(f"environment variable {str(k)[:64]!r} is invalid.")
        for req in self.requirements:
            # Requirement strings go to pip as arguments: an option would change what pip does.
            if not isinstance(req, str) or not req.strip() or req.lstrip().startswith("-"):
                raise InvalidFunction(f"requirement {str(req)[:64]!r} is invalid.")
        return replace(self, http_methods=methods, http_auth=auth, env=dict(self.env))

    def _trigger(self) -> tuple[tuple[str, ...], TriggerAuth]:
        """The HTTP trigger's methods (normalised) and authType, checked."""
        if self.http_trigger and self.kind != "http":
            raise InvalidFunction("an HTTP trigger needs an 'http' (WSGI) function.")
        methods = tuple(dict.fromkeys(m.upper() for m in self.http_methods))
        bad = [m for m in methods if m not in HTTP_METHODS]
        if bad:
            raise InvalidFunction(f"unknown HTTP methods: {', '.join(bad)}.")
        if self.http_trigger and not methods:
            methods = HTTP_METHODS
        auth = trigger_auth(self.http_auth)
        if auth is not TriggerAuth.ANONYMOUS and not self.http_trigger:
            raise InvalidFunction("an authType needs an HTTP trigger.")
        return methods, auth

    def same_definition(self, other: FunctionRecord) -> bool:
        """Whether both records define the same function (times ignored)."""
        return _params(self) == _params(other)

    def spec(self, code_dir: Path | None = None) -> FunctionSpec:
        """The runner's spec; ``code_dir`` overrides the folder (the staged view with requirements)."""
        return FunctionSpec(
            service=self.service,
            name=self.name,
            code_dir=code_dir or Path(self.code_dir),
            handler=self.handler,
            kind=self.kind,
            timeout_s=self.timeout_s,
            env=dict(self.env),
            initializer=self.initializer,
            memory_mb=self.memory_mb,
        )

    def to_doc(self) -> dict[str, Any]:
        """The record as the REST API shows it."""
        return {
            "service": self.service,
            "name": self.name,
            "code_dir": self.code_dir,
            "handler": self.handler,
            "kind": self.kind,
            "timeout": self.timeout_s,
            "memory": self.memory_mb,
            "env": dict(self.env),
            "initializer": self.initializer,
            "http_trigger": {"methods": list(self.http_methods), "auth_type": str(self.http_auth)}
            if self.http_trigger
            else None,
            "requirements": list(self.requirements),
            "description": self.description,
            "created_ms": self.created_ms,
            "modified_ms": self.modified_ms,
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> FunctionRecord:
        """Rebuild from a ``fc_functions`` row."""
        kind: FunctionKind = "http" if row["kind"] == "http" else "event"
        return cls(
            service=row["service"],
            name=row["name"],
            code_dir=row["code_dir"],
            handler=row["handler"],
            kind=kind,
            timeout_s=int(row["timeout_ms"]) / 1000.0,
            memory_mb=int(row["memory_mb"]),
            env=json.loads(row["env"]),
            initializer=row["initializer"],
            http_trigger=bool(row["http_trigger"]),
            http_methods=tuple(json.loads(row["http_methods"])),
            http_auth=trigger_auth(row["http_auth"]),
            requirements=tuple(json.loads(row["requirements"])),
            description=row["description"],
            created_ms=int(row["created_ms"]),
            modified_ms=int(row["modified_ms"]),
        )


def _params(r: FunctionRecord) -> dict[str, Any]:
    return {
        "service": r.service,
        "name": r.name,
        "code_dir": r.code_dir,
        "handler": r.handler,
        "kind": r.kind,
        "timeout_ms": round(r.timeout_s * 1000),
        "memory_mb": r.memory_mb,
        "env": json.dumps(dict(sorted(r.env.items())), ensure_ascii=False),
        "initializer": r.initializer,
        "http_trigger": 1 if r.http_trigger else 0,
        "http_methods": json.dumps(list(r.http_methods)),
        "http_auth": str(r.http_auth),
        "requirements": json.dumps(list(r.requirements)),
        "description": r.description,
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceRecord:
    """A function service: the role its functions' credentials are a session of ("" for none).

    Attributes:
        name: The service name.
        role: The ARN of a RAM role that trusts ``fc.aliyuncs.com``, or "" (functions get no credentials).
        description: Free text.
        created_ms / modified_ms: Epoch milliseconds (set by the registry).
    """

    name: str
    role: str = ""
    description: str = ""
    created_ms: int = 0
    modified_ms: int = 0

    def to_doc(self) -> dict[str, Any]:
        """The record as the REST API shows it."""
        return {
            "name": self.name,
            "role": self.role,
            "description": self.description,
            "created_ms": self.created_ms,
            "modified_ms": self.modified_ms,
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ServiceRecord:
        """Rebuild from a ``fc_services`` row."""
        return cls(
            name=row["service"],
            role=row["role"],
            description=row["description"],
            created_ms=int(row["created_ms"]),
            modified_ms=int(row["modified_ms"]),
        )


class FunctionRegistry:
    """Create, update, read and delete deployed functions (thread-safe, one transaction each).

    Args:
        db: The store's database (``store.database``).
        clock: Epoch milliseconds.
    """

    def __init__(self, db: Database, clock: Callable[[], int] | None = None) -> None:
        self.db = db
        self.queries = load_queries(db.dialect, "functions")
        self.clock = clock or now_ms

    def put(self, record: FunctionRecord) -> tuple[FunctionRecord, str]:
        """Create or update a function (validated first).

        Returns:
            The stored record and what happened: ``created``, ``updated`` or ``unchanged``.

        Raises:
            InvalidFunction: the record is not valid.
        """
        record = record.validate()
        key = {"service": record.service, "name": record.name}
        with self.db.write() as tx:
            rows = tx.raw(self.queries["get_function"], key)
            if rows:
                old = FunctionRecord.from_row(rows[0])
                if old.same_definition(record):
                    return old, "unchanged"
            params = {**_params(record), "now_ms": self.clock()}
            row = tx.raw(self.queries["upsert_function"], params)[0]
        return FunctionRecord.from_row(row), "updated" if rows else "created"

    def get(self, service: str, name: str) -> FunctionRecord | None:
        """The function ``service/name``, or None."""
        with self.db.read() as tx:
            rows = tx.raw(self.queries["get_function"], {"service": service, "name": name})
        return FunctionRecord.from_row(rows[0]) if rows else None

    def list_functions(self, service: str | None = None) -> Sequence[FunctionRecord]:
        """Every function (of ``service`` when given), ordered by service and name."""
        with self.db.read() as tx:
            rows = tx.raw(self.queries["list_functions"], {"service": service})
        return [FunctionRecord.from_row(r) for r in rows]

    def delete(self, service: str, name: str) -> bool:
        """Delete ``service/name``; return whether it existed."""
        with self.db.write() as tx:
            rows = tx.raw(self.queries["delete_function"], {"service": service, "name": name})
        return bool(rows)

    # --- services ------------------------------------------------------------------------------------

    def put_service(self, record: ServiceRecord) -> tuple[ServiceRecord, str]:
        """Create or update a service (its role is checked by the caller).

        Returns:
            The stored record and ``created``, ``updated`` or ``unchanged``.
        """
        check_function_name(record.name, "service")
        key = {"service": record.name}
        with self.db.write() as tx:
            rows = tx.raw(self.queries["get_service"], key)
            if rows:
                old = ServiceRecord.from_row(rows[0])
                if (old.role, old.description) == (record.role, record.description):
                    return old, "unchanged"
            params = {**key, "role": record.role, "description": record.description, "now_ms": self.clock()}
            row = tx.raw(self.queries["upsert_service"], params)[0]
        return ServiceRecord.from_row(row), "updated" if rows else "created"

    def get_service(self, name: str) -> ServiceRecord | None:
        """The service ``name``, or None (a service with functions but no record has no role)."""
        with self.db.read() as tx:
            rows = tx.raw(self.queries["get_service"], {"service": name})
        return ServiceRecord.from_row(rows[0]) if rows else None

    def list_services(self) -> Sequence[ServiceRecord]:
        """Every service record, by name."""
        with self.db.read() as tx:
            rows = tx.raw(self.queries["list_services"], {})
        return [ServiceRecord.from_row(r) for r in rows]

    def delete_service(self, name: str) -> bool:
        """Delete the service record ``name`` (its functions stay); return whether it existed."""
        with self.db.write() as tx:
            rows = tx.raw(self.queries["delete_service"], {"service": name})
        return bool(rows)
