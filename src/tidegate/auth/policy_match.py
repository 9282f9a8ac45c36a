"""Wildcard patterns of RAM policies: ``*`` (any run of characters, also none) and ``?`` (one character).

The pattern is matched against the whole text; ``*`` crosses ``:`` and ``/`` (``acs:fnf:*:*:flow/*`` matches
``acs:fnf:cn-hangzhou:123:flow/a/b``). No other character is special (``[`` is literal, unlike ``fnmatch``).

A pattern is compiled once (cached) to a regular expression that never backtracks more than linearly: each
piece between two stars is found at its first occurrence with a look-ahead and a back-reference (the
``fnmatch`` technique), which is right for globs because an earlier match of a middle piece never leaves
less to the pieces after it. A hostile pattern (``*a*a*a*…b``) is therefore not exponential.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["has_wildcard", "matches"]


def has_wildcard(pattern: str) -> bool:
    """Whether ``pattern`` holds ``*`` or ``?``."""
    return "*" in pattern or "?" in pattern


def _piece(text: str) -> str:
    return ".".join(re.escape(part) for part in text.split("?"))


@lru_cache(maxsize=4096)
def _compiled(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    pieces = re.sub(r"\*+", "*", pattern).split("*")
    if len(pieces) == 1:
        body = _piece(pieces[0])
    else:
        first, *middle, last = pieces
        parts = [_piece(first)]
        for n, piece in enumerate(middle):
            if piece:
                parts.append(f"(?=(?P<g{n}>.*?{_piece(piece)}))(?P=g{n})")
        parts.append(f".*{_piece(last)}")
        body = "".join(parts)
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile(rf"(?:{body})\Z", flags)


def matches(pattern: str, text: str, *, ignore_case: bool = False) -> bool:
    """Whether ``text`` as a whole matches the wildcard ``pattern``."""
    if pattern == "*":
        return True
    if not has_wildcard(pattern):
        return pattern.casefold() == text.casefold() if ignore_case else pattern == text
    return _compiled(pattern, ignore_case).match(text) is not None
