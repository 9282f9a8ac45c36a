"""Typed access to the merged parameters of one RPC request."""

from __future__ import annotations

import builtins
import re
from collections.abc import Mapping

from tidegate.api.rpc_errors import MissingRequiredParams
from tidegate.engine import parse_rfc3339_ms
from tidegate.runtime.service import InvalidArgument

__all__ = ["Params"]

#: An integer parameter as the SDKs send it: ASCII digits with an optional sign (``int()`` would also take
#: spaces, underscores and other scripts' digits).
_INT = re.compile(r"[+-]?[0-9]{1,40}")


class Params:
    """The request's parameters with required/optional accessors that raise the protocol's errors."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = values

    def req(self, name: str) -> str:
        """A required, non-empty parameter. Raises MissingRequiredParams."""
        value = self.values.get(name)
        if not value:
            raise MissingRequiredParams(name)
        return value

    def opt(self, name: str) -> str | None:
        """An optional parameter; None when absent (an empty value is kept)."""
        return self.values.get(name)

    def text(self, name: str, default: str = "") -> str:
        """An optional parameter with a default for absence."""
        value = self.values.get(name)
        return default if value is None else value

    def int(self, name: str, default: builtins.int, lo: builtins.int, hi: builtins.int) -> builtins.int:
        """An optional integer in ``[lo, hi]``; empty means the default. Raises InvalidArgument."""
        value = self.values.get(name)
        if value is None or value == "":
            return default
        if not _INT.fullmatch(value):
            raise InvalidArgument(f"The parameter {name} must be an integer, not {value[:40]!r}.")
        n = builtins.int(value)
        if not lo <= n <= hi:
            raise InvalidArgument(f"The parameter {name} must be between {lo} and {hi}, not {value[:40]}.")
        return n

    def bool(self, name: str) -> builtins.bool | None:
        """An optional boolean (``true``/``false``, any case). Raises InvalidArgument."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        low = value.lower()
        if low not in ("true", "false"):
            raise InvalidArgument(f"The parameter {name} must be true or false, not {value[:40]!r}.")
        return low == "true"

    def time_ms(self, name: str) -> builtins.int | None:
        """An optional RFC 3339 time as epoch ms. Raises InvalidArgument."""
        value = self.values.get(name)
        if not value:
            return None
        try:
            return parse_rfc3339_ms(value)
        except (ValueError, OverflowError):
            raise InvalidArgument(f"The parameter {name} must be an RFC 3339 time, not {value[:40]!r}.") from None
