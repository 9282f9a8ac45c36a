"""Compact JSON text, the one way tidegate writes JSON it stores or sends (a leaf: stdlib only).

The encoders are built once: ``json.dumps`` with any non-default argument builds a new encoder per call,
which on the hot path (state, history details, API bodies) cost more than the encoding of a small value.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["compact", "compact_ascii"]

_UNICODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_ASCII = json.JSONEncoder(separators=(",", ":"))


def compact(value: Any) -> str:
    """JSON without spaces, non-ASCII characters kept as they are."""
    return _UNICODE.encode(value)


def compact_ascii(value: Any) -> str:
    """JSON without spaces, non-ASCII characters escaped (``\\uXXXX``)."""
    return _ASCII.encode(value)
