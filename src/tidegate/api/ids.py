"""Request ids for every protocol's responses."""

from __future__ import annotations

import itertools
import secrets

_PREFIX = secrets.token_hex(6).upper()  # per process: ids stay unique across servers sharing a store
_COUNTER = itertools.count(1)


def new_request_id() -> str:
    """A 24-hex-digit request id like the services'. A counter: random bytes per request cost ~3-5 %."""
    return f"{_PREFIX}{next(_COUNTER):012X}"
