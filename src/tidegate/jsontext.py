"""JSON text: the one compact writer and the one strict reader of tidegate (a leaf: stdlib and errors only).

Writer: the encoders are built once: ``json.dumps`` with any non-default argument builds a new encoder per
call, which on the hot path (state, history details, API bodies) cost more than the encoding of a small value.

Reader: every JSON text a client sends (RPC Input/Output/Payload, REST and console bodies, deploy payloads,
``tidegate run --input``) is read by :func:`parse`, which accepts strict RFC 8259 JSON only:

* no ``NaN``, ``Infinity`` or ``-Infinity``, and no number too large for a double (``1e400``);
* no lone UTF-16 surrogate in any string or key, escaped (``"\\ud800"``) or raw; a pair of escapes that
  forms one character (``"\\ud83d\\ude00"``) is fine;
* bytes must be UTF-8;
* arrays and objects nested at most :data:`MAX_DEPTH` levels (``[]`` and ``{}`` are one level).

The depth is checked before ``json.loads`` runs (a scan of the brackets outside strings, linear time), so
a deep text never reaches the recursive decoder. Every refusal is one :class:`JsonTextError` (code
``InvalidArgument``) whose message names what was read, where, and what is wrong.
"""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any

from tidegate.errors import TidegateError

__all__ = ["MAX_DEPTH", "JsonTextError", "check_text", "check_value", "compact", "compact_ascii", "parse"]

_UNICODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_ASCII = json.JSONEncoder(separators=(",", ":"))

#: Deepest nesting of arrays and objects a client's JSON may have. FDL data is small: the engine keeps at
#: most 32 KiB per step, and flow definitions are limited to the same 64 levels.
MAX_DEPTH = 64


def compact(value: Any) -> str:
    """JSON without spaces, non-ASCII characters kept as they are."""
    return _UNICODE.encode(value)


def compact_ascii(value: Any) -> str:
    """JSON without spaces, non-ASCII characters escaped (``\\uXXXX``)."""
    return _ASCII.encode(value)


# --- the strict reader ---------------------------------------------------------------------------------


class JsonTextError(TidegateError):
    """The text is not strict JSON."""

    code = "InvalidArgument"


class _Refused(Exception):
    """Raised inside the decoder's hooks; :func:`parse` turns it into a JsonTextError naming the text."""


#: Every byte but the quote and the brackets: what the depth scan deletes.
_NOT_STRUCTURE = bytes(range(256)).translate(None, b'"[]{}')
_DELTA = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# The escape of a surrogate: with a raw one, only then can a decoded string hold a lone surrogate.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")


def _constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number (RFC 8259 has no NaN or Infinity)")


def _float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _Refused(f"the number {text[:40]} is out of range")
    return value


#: Built once (``json.loads`` with hooks builds a decoder per call).
_DECODER = json.JSONDecoder(parse_constant=_constant, parse_float=_float)


def _depth(text: str, max_depth: int) -> int:
    """The deepest nesting of the brackets outside strings (an upper bound on an invalid text). Linear.

    Escaped backslashes and quotes are removed first (left to right, as JSON pairs them), then everything
    but quotes and brackets; what is left between quote pairs was inside strings.
    """
    if text.count("[") + text.count("{") <= max_depth:
        return 0  # cannot be deeper: no need to scan
    if "\\" in text:
        text = text.replace("\\\\", "").replace('\\"', "")
    structure = text.encode("utf-8", "surrogatepass").translate(None, _NOT_STRUCTURE)
    brackets = b"".join(structure.split(b'"')[::2])
    return max(accumulate(map(_DELTA.__getitem__, brackets)), default=0)


def _path(path: str, key: object) -> str:
    """``path`` extended by ``key`` (shortened, surrogates shown as ``?``: a message must be storable text)."""
    if len(path) >= 200:
        return path
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{_SURROGATE.sub('?', str(key)[:40])}"


def _lone_surrogate(value: Any) -> str | None:
    """The path (``$.a[2]``) of the first key or string holding a surrogate, or None. Iterative."""
    stack: list[tuple[str, Any]] = [("$", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return path
        elif isinstance(item, dict):
            for k, v in item.items():
                if _SURROGATE.search(k):
                    return f"{path} (a key)"
                stack.append((_path(path, k), v))
        elif isinstance(item, list):
            stack.extend((_path(path, i), v) for i, v in enumerate(item))
    return None


def _suspect(text: str) -> bool:
    """Whether ``text`` holds a surrogate, raw or escaped (substring tests first: a regex alone is slow)."""
    escaped = "\\u" in text and _SURROGATE_ESCAPE.search(text) is not None
    return escaped or (not text.isascii() and _SURROGATE.search(text) is not None)


def parse(text: str | bytes, what: str = "the JSON text", *, max_depth: int = MAX_DEPTH) -> Any:
    """Read ``text`` as strict RFC 8259 JSON (see the module docstring) and return its value.

    Args:
        text: the JSON text (bytes must be UTF-8).
        what: how the message names the text ("the execution input").
        max_depth: the deepest nesting allowed.

    Raises:
        JsonTextError: anything else than strict JSON within ``max_depth``; never another exception.
    """
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JsonTextError(f"{what} is not UTF-8 (byte {exc.start}).") from None
    if _depth(text, max_depth) > max_depth:
        raise JsonTextError(f"{what} is nested deeper than {max_depth} levels of arrays and objects.")
    try:
        value = _DECODER.decode(text)
    except _Refused as exc:
        raise JsonTextError(f"{what} is not valid JSON: {exc}.") from None
    except json.JSONDecodeError as exc:
        raise JsonTextError(f"{what} is not valid JSON: {exc.msg} (line {exc.lineno} column {exc.colno}).") from None
    except ValueError:  # the one other ValueError: int() refuses more than 4,300 digits
        raise JsonTextError(f"{what} is not valid JSON: an integer has more than 4300 digits.") from None
    except RecursionError:  # cannot happen after the depth check; a refusal all the same
        raise JsonTextError(f"{what} is nested too deeply.") from None
    if _suspect(text) and (where := _lone_surrogate(value)) is not None:
        raise JsonTextError(f"{what} holds a lone UTF-16 surrogate at {where}; JSON text must be Unicode.")
    return value


def check_value(value: Any, what: str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Check a value built by other means (YAML) as if it had been read by :func:`parse`; return it.

    Allowed: dicts with string keys, lists, strings, ints, finite floats, booleans and None.

    Raises:
        JsonTextError: another type, a non-finite float, a lone surrogate, or nesting over ``max_depth``.
    """
    stack: list[tuple[str, int, Any]] = [("$", 0, value)]
    while stack:
        path, depth, item = stack.pop()
        if isinstance(item, dict | list):
            if depth >= max_depth:
                raise JsonTextError(f"{what} is nested deeper than {max_depth} levels of arrays and objects.")
            if isinstance(item, dict):
                for k, v in item.items():
                    if not isinstance(k, str):
                        raise JsonTextError(f"{what} has a key that is not a string at {path}.")
                    stack.append((_path(path, k), depth + 1, v))
            else:
                stack.extend((_path(path, i), depth + 1, v) for i, v in enumerate(item))
        elif isinstance(item, float) and not math.isfinite(item):
            raise JsonTextError(f"{what} holds {item!r} at {path}: JSON numbers are finite.")
        elif not isinstance(item, str | int | float | bool) and item is not None:
            raise JsonTextError(f"{what} holds a {type(item).__name__} at {path}, which JSON cannot carry.")
    if (where := _lone_surrogate(value)) is not None:
        raise JsonTextError(f"{what} holds a lone UTF-16 surrogate at {where}; JSON text must be Unicode.")
    return value


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def check_text(value: str, what: str) -> str:
    """Return ``value`` if it is storable text, else raise JsonTextError.

    Refused: a lone surrogate (not Unicode: it cannot be written as UTF-8) and NUL (PostgreSQL text cannot
    hold it). Inside JSON values both are fine once written: the writer escapes them as ``\\u0000``.
    """
    found = _UNSTORABLE.search(value)
    if found is not None:
        kind = "a NUL character" if found.group() == "\x00" else "a lone UTF-16 surrogate"
        raise JsonTextError(f"{what} holds {kind} at character {found.start()}.")
    return value
