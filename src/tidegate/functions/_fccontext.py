"""The ``context`` object a handler receives, shaped like Function Compute's Python runtime.

Built in the worker from the JSON the runner sends (see ``_model.context_to_wire``).
"""

from __future__ import annotations

from typing import Any


class FCCredentials:
    """Temporary keys, with FC's snake_case names and its camelCase aliases."""

    __slots__ = ("access_key_id", "access_key_secret", "security_token")

    def __init__(self, access_key_id: str, access_key_secret: str, security_token: str) -> None:
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.security_token = security_token

    @property
    def accessKeyId(self) -> str:  # FC's own alias
        return self.access_key_id

    @property
    def accessKeySecret(self) -> str:  # FC's own alias
        return self.access_key_secret

    @property
    def securityToken(self) -> str:  # FC's own alias
        return self.security_token

    def __repr__(self) -> str:
        # Never print the secret or the token into a function's logs by accident.
        return f"FCCredentials(access_key_id={self.access_key_id!r}, ...)"


class FCFunction:
    """``context.function``: name, handler, memory (MB), timeout (s), initializer."""

    __slots__ = ("handler", "initializer", "memory", "name", "timeout")

    def __init__(self, data: dict[str, Any]) -> None:
        self.name: str = data["name"]
        self.handler: str = data["handler"]
        self.memory: int = data["memory"]
        self.timeout: int = data["timeout"]
        self.initializer: str | None = data.get("initializer")

    def __repr__(self) -> str:
        return f"FCFunction(name={self.name!r}, handler={self.handler!r})"


class FCService:
    """``context.service``: name and qualifier (log project and store are empty here)."""

    __slots__ = ("log_project", "log_store", "name", "qualifier", "version_id")

    def __init__(self, data: dict[str, Any]) -> None:
        self.name: str = data["name"]
        self.qualifier: str = data.get("qualifier", "LATEST")
        self.version_id = ""
        self.log_project = ""
        self.log_store = ""

    def __repr__(self) -> str:
        return f"FCService(name={self.name!r})"


class FCContext:
    """The handler's ``context`` (and ``environ['fc.context']`` for WSGI functions)."""

    __slots__ = ("account_id", "credentials", "function", "region", "request_id", "retry_count", "service")

    def __init__(self, data: dict[str, Any]) -> None:
        self.request_id: str = data["request_id"]
        self.region: str = data["region"]
        self.account_id: str = data["account_id"]
        self.credentials = FCCredentials(*data["credentials"])
        self.function = FCFunction(data["function"])
        self.service = FCService(data["service"])
        self.retry_count = 0

    def __repr__(self) -> str:
        return f"FCContext(request_id={self.request_id!r}, function={self.function.name!r})"
