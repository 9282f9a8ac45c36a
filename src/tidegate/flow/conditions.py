"""Choice conditions (docs/flow-language.md): parsed once at load time into a small AST, evaluated without ``eval``.

Grammar::

    expr    := and ( "||" and )*
    and     := unary ( "&&" unary )*
    unary   := "!" unary | cmp
    cmp     := primary ( ("==" | "!=" | ">" | ">=" | "<" | "<=") primary )?
    primary := path | string | number | "true" | "false" | "null" | "(" expr ")"

Paths are those of :mod:`tidegate.flow.paths` rooted at ``$`` (the choice step's input). Strings are
double- or single-quoted with JSON-style escapes.

Semantics (tidegate's decisions, ``docs/flow-language.md``): a bare value is truthy when it is ``true``, a
non-zero number or a non-empty string/list/object; a missing path is falsy and makes any comparison false
(``!=`` included); ``==`` is JSON equality except that a boolean equals the strings ``"true"``/``"false"``
case-insensitively and numbers compare numerically; ``< <= > >=`` compare two numbers or two strings and
are false for anything else.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, TypeAlias

from tidegate.errors import FlowError
from tidegate.flow.mapping import Scope
from tidegate.flow.model import JSON, MISSING, Path, Root
from tidegate.flow.paths import PathSyntaxError, parse_path, resolve

__all__ = ["MAX_CONDITION_LENGTH", "Condition", "ConditionSyntaxError", "json_equal", "parse_condition"]

MAX_CONDITION_LENGTH = 4096
_MAX_DEPTH = 64  # nesting of "(" and "!": keeps the recursive-descent parser far from Python's limit

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<path>\$(?:\.[\w-]+|\[(?:\*|-?\d+|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')\])*)
    | (?P<num>-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
    | (?P<dstr>"(?:[^"\\]|\\.)*")
    | (?P<sstr>'(?:[^'\\]|\\.)*')
    | (?P<op>==|!=|>=|<=|&&|\|\||[<>!()])
    | (?P<word>[A-Za-z_]\w*)
    )""",
    re.VERBOSE,
)


class ConditionSyntaxError(FlowError):
    """The condition is not valid."""


# --- AST --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Literal:
    value: JSON


@dataclass(frozen=True, slots=True)
class PathRef:
    path: Path


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node


@dataclass(frozen=True, slots=True)
class BoolOp:
    op: str  # "&&" or "||"
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Compare:
    op: str
    left: Node
    right: Node


Node: TypeAlias = Literal | PathRef | Not | BoolOp | Compare


@dataclass(frozen=True, slots=True)
class Condition:
    """A parsed condition. ``evaluate`` never raises on any JSON document."""

    text: str
    node: Node

    def evaluate(self, doc: JSON) -> bool:
        """Evaluate against ``doc``, the choice step's input."""
        return truthy(_eval(self.node, doc))

    def __str__(self) -> str:
        return self.text


def parse_condition(text: str) -> Condition:
    """Parse a condition such as ``$.a == "x" && ($.n >= 4 || $.flag)``.

    Raises:
        ConditionSyntaxError: when ``text`` does not follow the grammar.
    """
    if not isinstance(text, str):
        raise ConditionSyntaxError("a condition must be a string")
    if len(text) > MAX_CONDITION_LENGTH:
        raise ConditionSyntaxError(f"condition is longer than {MAX_CONDITION_LENGTH} characters")
    parser = _Parser(text, _tokenize(text))
    node = parser.expr(0)
    if parser.pos < len(parser.tokens):
        raise parser.error(f'unexpected "{parser.tokens[parser.pos][1]}"')
    return Condition(text, node)


# --- parsing ----------------------------------------------------------------------------------------


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            if not text[pos:].strip():
                break
            rest = text[pos:].lstrip()
            raise ConditionSyntaxError(f'condition "{text}": unexpected "{rest[:10]}"')
        kind = m.lastgroup
        assert kind is not None
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    return tokens


class _Parser:
    def __init__(self, text: str, tokens: list[tuple[str, str]]) -> None:
        self.text = text
        self.tokens = tokens
        self.pos = 0

    def error(self, message: str) -> ConditionSyntaxError:
        return ConditionSyntaxError(f'condition "{self.text}": {message}')

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take_op(self, *ops: str) -> str | None:
        tok = self.peek()
        if tok is not None and tok[0] == "op" and tok[1] in ops:
            self.pos += 1
            return tok[1]
        return None

    def expr(self, depth: int) -> Node:
        if depth > _MAX_DEPTH:
            raise self.error(f"nested more than {_MAX_DEPTH} levels deep")
        return self._bool("||", lambda: self._bool("&&", lambda: self.unary(depth)))

    def _bool(self, op: str, operand: Any) -> Node:
        operands = [operand()]
        while self.take_op(op):
            operands.append(operand())
        return operands[0] if len(operands) == 1 else BoolOp(op, tuple(operands))

    def unary(self, depth: int) -> Node:
        if self.take_op("!"):
            if depth >= _MAX_DEPTH:
                raise self.error(f"nested more than {_MAX_DEPTH} levels deep")
            return Not(self.unary(depth + 1))
        left = self.primary(depth)
        op = self.take_op("==", "!=", ">=", "<=", ">", "<")
        if op is None:
            return left
        return Compare(op, left, self.primary(depth))

    def primary(self, depth: int) -> Node:
        tok = self.peek()
        if tok is None:
            raise self.error("unexpected end")
        kind, value = tok
        self.pos += 1
        if kind == "op" and value == "(":
            node = self.expr(depth + 1)
            if not self.take_op(")"):
                raise self.error('missing ")"')
            return node
        if kind == "path":
            return PathRef(_condition_path(value, self))
        if kind == "num":
            number = float(value) if any(c in value for c in ".eE") else int(value)
            return Literal(number)
        if kind in ("dstr", "sstr"):
            return Literal(_unquote(value, self))
        if kind == "word" and value in ("true", "false", "null"):
            return Literal({"true": True, "false": False, "null": None}[value])
        raise self.error(f'unexpected "{value}"')


def _condition_path(text: str, parser: _Parser) -> Path:
    try:
        path = parse_path(text)
    except PathSyntaxError as exc:
        raise parser.error(exc.message) from None
    if path.root is not Root.SELF:
        raise parser.error(f'"{text}": conditions read the step input as "$" or "$.key"')
    return path


def _unquote(token: str, parser: _Parser) -> str:
    body = token[1:-1]
    if token[0] == "'":
        # Single-quoted: a JSON string once "\'" becomes "'" and bare '"' is escaped.
        body = re.sub(r"\\'", "'", body).replace('\\"', '"').replace('"', '\\"')
    try:
        value = json.loads(f'"{body}"')
    except ValueError:
        raise parser.error(f"bad string {token}") from None
    assert isinstance(value, str)
    return value


# --- evaluation -------------------------------------------------------------------------------------


def _eval(node: Node, doc: JSON) -> JSON:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, PathRef):
        return resolve(node.path, Scope(doc, {}, {}))
    if isinstance(node, Not):
        return not truthy(_eval(node.operand, doc))
    if isinstance(node, BoolOp):
        if node.op == "&&":
            return all(truthy(_eval(o, doc)) for o in node.operands)
        return any(truthy(_eval(o, doc)) for o in node.operands)
    return _compare(node.op, _eval(node.left, doc), _eval(node.right, doc))


def truthy(value: JSON) -> bool:
    """Truthiness of a condition value: missing, null, false, 0, "" and empty containers are false."""
    if value is MISSING or value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return value != 0 and not math.isnan(value)
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str | list | dict):
        return len(value) > 0
    return False


def _is_number(value: JSON) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _compare(op: str, left: JSON, right: JSON) -> bool:
    if left is MISSING or right is MISSING:
        return False
    if op == "==":
        return _loose_equal(left, right)
    if op == "!=":
        return not _loose_equal(left, right)
    if (_is_number(left) and _is_number(right)) or (isinstance(left, str) and isinstance(right, str)):
        if op == "<":
            return bool(left < right)
        if op == "<=":
            return bool(left <= right)
        if op == ">":
            return bool(left > right)
        return bool(left >= right)
    return False


def _loose_equal(left: JSON, right: JSON) -> bool:
    # The corpus compares function results like {"end": true} with the string "true" (docs/flow-language.md).
    if isinstance(left, bool) and isinstance(right, str):
        return right.lower() == ("true" if left else "false")
    if isinstance(right, bool) and isinstance(left, str):
        return left.lower() == ("true" if right else "false")
    return json_equal(left, right)


def json_equal(left: JSON, right: JSON) -> bool:
    """JSON equality: ``1 == 1.0`` but ``true != 1``, recursively through lists and objects."""
    # An explicit stack rather than recursion: documents may nest deeper than Python's recursion limit.
    stack: list[tuple[JSON, JSON]] = [(left, right)]
    while stack:
        a, b = stack.pop()
        if isinstance(a, list) and isinstance(b, list):
            if len(a) != len(b):
                return False
            stack.extend(zip(a, b, strict=True))
        elif isinstance(a, dict) and isinstance(b, dict):
            if a.keys() != b.keys():
                return False
            stack.extend((v, b[k]) for k, v in a.items())
        elif not _scalar_equal(a, b):
            return False
    return True


def _scalar_equal(a: JSON, b: JSON) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    return type(a) is type(b) and not isinstance(a, list | dict) and bool(a == b)
