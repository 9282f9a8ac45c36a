"""The path language (docs/flow-language.md): ``$input.a[0]``, ``$local[*].parts[*]``, ``$context.task.token``, ``$.k``.

Grammar (one path, no spaces)::

    path    := root segment*
    root    := "$input" | "$local" | "$context" | "$"
    segment := "." key | "[" int "]" | "[*]" | "[" quoted "]"
    key     := one or more of letters, digits, "_" and "-"
    quoted  := a single- or double-quoted key, for keys with other characters

Resolution (tidegate's decision, see ``docs/flow-language.md``): a path without ``[*]`` yields the value it
names or :data:`MISSING`; a path with ``[*]`` always yields a list of every match, each further ``[*]``
flattening one level; ``[*]`` over anything but a list contributes nothing.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from tidegate.errors import FlowError
from tidegate.flow.model import JSON, MISSING, WILDCARD, Path, Root, Segment, Wildcard

if TYPE_CHECKING:
    from tidegate.flow.mapping import Scope

__all__ = ["MAX_PATH_LENGTH", "PathSyntaxError", "parse_path", "resolve", "root_value"]

MAX_PATH_LENGTH = 1024
"""Longer path texts are refused: no real flow needs them and they bound the work of resolving one."""

_ROOTS = (("$input", Root.INPUT), ("$local", Root.LOCAL), ("$context", Root.CONTEXT), ("$", Root.SELF))
_KEY = re.compile(r"[\w-]+")
_INDEX = re.compile(r"\[(-?\d{1,9})\]")
_QUOTED = re.compile(r"""\[(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\]""")


class PathSyntaxError(FlowError):
    """The path is not valid."""


def parse_path(text: str) -> Path:
    """Parse a path such as ``$input.a[0]``, ``$local[*].x``, ``$.k`` or ``$``.

    Args:
        text: the path text, starting with ``$``.

    Returns:
        The parsed :class:`Path`; ``$`` and ``$.x`` have root :attr:`Root.SELF`.

    Raises:
        PathSyntaxError: when ``text`` is not a path.
    """
    if len(text) > MAX_PATH_LENGTH:
        raise PathSyntaxError(f"path is longer than {MAX_PATH_LENGTH} characters")
    root = _match_root(text)
    if root is None:
        raise PathSyntaxError(f'"{text}" is not a path: it must start with $input, $local, $context or $')
    prefix, kind = root
    return Path(kind, _parse_segments(text, len(prefix)), text)


def _match_root(text: str) -> tuple[str, Root] | None:
    for prefix, kind in _ROOTS:
        if text.startswith(prefix):
            rest = text[len(prefix) :]
            # "$inputs" is not "$input" followed by "s"; only "$" may be followed directly by "."/"[".
            if rest == "" or rest[0] in ".[":
                return prefix, kind
            if prefix == "$":
                return None
    return None


def _parse_segments(text: str, pos: int) -> tuple[Segment, ...]:
    segments: list[Segment] = []
    while pos < len(text):
        if text[pos] == ".":
            m = _KEY.match(text, pos + 1)
            if m is None:
                raise PathSyntaxError(f'"{text}": expected a key after "." at position {pos + 1}')
            segments.append(m.group(0))
            pos = m.end()
        elif text.startswith("[*]", pos):
            segments.append(WILDCARD)
            pos += 3
        elif (m := _INDEX.match(text, pos)) is not None:
            segments.append(int(m.group(1)))
            pos = m.end()
        elif (m := _QUOTED.match(text, pos)) is not None:
            raw = m.group(1) if m.group(1) is not None else m.group(2)
            segments.append(re.sub(r"\\(.)", r"\1", raw))
            pos = m.end()
        else:
            raise PathSyntaxError(f'"{text}": unexpected "{text[pos]}" at position {pos}')
    return tuple(segments)


def root_value(root: Root, input: JSON, local: JSON, context: JSON) -> JSON:
    """The document a path of ``root`` starts from (``$``/``$.x`` read the input)."""
    if root is Root.LOCAL:
        return local
    if root is Root.CONTEXT:
        return context
    return input


def resolve(path: Path, scope: Scope) -> JSON:
    """Resolve ``path`` against a :class:`tidegate.flow.mapping.Scope`.

    Args:
        path: a parsed path.
        scope: the documents ``$input``/``$``, ``$local`` and ``$context`` read.

    Returns:
        The value (not copied) or :data:`MISSING` for a path without a wildcard; a new list of every match
        for a path with one.
    """
    start = root_value(path.root, scope.input, scope.local, scope.context)
    if path.has_wildcard:
        out: list[JSON] = []
        _collect(start, path.segments, 0, out)
        return out
    return _walk(start, path.segments)


def _step(value: JSON, seg: str | int) -> JSON:
    if isinstance(seg, str):
        if isinstance(value, dict) and seg in value:
            return value[seg]
        return MISSING
    if isinstance(value, list) and -len(value) <= seg < len(value):
        return value[seg]
    return MISSING


def _walk(value: JSON, segments: tuple[Segment, ...]) -> JSON:
    for seg in segments:
        assert not isinstance(seg, Wildcard)
        value = _step(value, seg)
        if value is MISSING:
            return MISSING
    return value


def _collect(value: JSON, segments: tuple[Segment, ...], i: int, out: list[JSON]) -> None:
    # Iterative over plain segments, recursive only at wildcards: depth is bounded by the wildcard count.
    while i < len(segments):
        seg = segments[i]
        if isinstance(seg, Wildcard):
            if isinstance(value, list):
                for element in value:
                    _collect(element, segments, i + 1, out)
            return
        value = _step(value, seg)
        if value is MISSING:
            return
        i += 1
    out.append(value)
