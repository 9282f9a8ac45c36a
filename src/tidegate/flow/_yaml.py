"""Read YAML or JSON text into plain JSON-like values that remember their source lines.

Objects become :class:`LDict` and lists :class:`LList`: ordinary ``dict``/``list`` subclasses that carry the
1-based line of the node and of each key or item, so validation can point at a line. Hostile input is
bounded: the text size, the nesting depth and the total number of nodes after alias expansion (an alias
bomb expands exponentially) are limited, and every failure becomes a :class:`FlowIssue`, never a
``RecursionError`` or a PyYAML exception.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from tidegate.errors import FlowIssue

__all__ = ["MAX_DEPTH", "MAX_NODES", "MAX_TEXT_BYTES", "LDict", "LList", "ParseFailed", "parse_document"]

MAX_TEXT_BYTES = 1024 * 1024
"""The FnF request-size limit (1 MiB): a definition larger than this is refused."""
MAX_DEPTH = 64
MAX_NODES = 100_000

_STD = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_STD + t for t in ("str", "int", "float", "bool", "null")}


class LDict(dict[str, Any]):
    """A JSON object read from the source, with the lines of the object and of each key."""

    __slots__ = ("key_lines", "line")

    def __init__(self, line: int | None = None) -> None:
        super().__init__()
        self.line = line
        self.key_lines: dict[str, int | None] = {}


class LList(list[Any]):
    """A JSON array read from the source, with the lines of the array and of each item."""

    __slots__ = ("item_lines", "line")

    def __init__(self, line: int | None = None) -> None:
        super().__init__()
        self.line = line
        self.item_lines: list[int | None] = []


class ParseFailed(Exception):
    """Internal: the text could not be read; carries the issue to report."""

    def __init__(self, issue: FlowIssue) -> None:
        super().__init__(issue.message)
        self.issue = issue


class _YamlLoader(yaml.SafeLoader):
    """SafeLoader without the implicit YAML 1.1 timestamp type: RFC 3339 times stay strings."""


_YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _STD + "timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_document(text: str, source: str | None) -> Any:
    """Parse ``text`` (YAML, or JSON) into plain values with line information.

    Raises:
        ParseFailed: when the text is too large, not YAML/JSON, nests too deeply or expands too much.
    """
    if len(text) > MAX_TEXT_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_TEXT_BYTES:
        raise ParseFailed(FlowIssue("", f"the definition is larger than {MAX_TEXT_BYTES} bytes", None, source))
    try:
        node = yaml.compose(text, Loader=_YamlLoader)
    except yaml.MarkedYAMLError as exc:
        return _json_fallback(text, source, _yaml_issue(exc, source))
    except yaml.YAMLError as exc:
        return _json_fallback(text, source, FlowIssue("", f"not valid YAML: {exc}", None, source))
    except RecursionError:
        raise ParseFailed(_too_deep(None, source)) from None
    if node is None:
        raise ParseFailed(FlowIssue("", "the definition is empty", None, source))
    return _Converter(source).convert(node, 0)


def _yaml_issue(exc: yaml.MarkedYAMLError, source: str | None) -> FlowIssue:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else None
    what = " ".join(p for p in (exc.context, exc.problem) if p)
    return FlowIssue("", f"not valid YAML: {what}", line, source)


def _too_deep(line: int | None, source: str | None) -> FlowIssue:
    return FlowIssue("", f"the definition nests more than {MAX_DEPTH} levels deep", line, source)


def _json_fallback(text: str, source: str | None, issue: FlowIssue) -> Any:
    # A few JSON texts are not YAML 1.1 (tabs as indentation, "\/" escapes): accept them, without lines.
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise ParseFailed(issue) from None
    return _wrap(value, 0, source)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _wrap(value: Any, depth: int, source: str | None) -> Any:
    if depth > MAX_DEPTH:
        raise ParseFailed(_too_deep(None, source))
    problem = _not_json(value)
    if problem:
        raise ParseFailed(FlowIssue("", problem, None, source))
    if isinstance(value, dict):
        out = LDict()
        for k, v in value.items():
            out[_wrap(k, depth, source)] = _wrap(v, depth + 1, source)
            out.key_lines[k] = None
        return out
    if isinstance(value, list):
        items = LList()
        for v in value:
            items.append(_wrap(v, depth + 1, source))
            items.item_lines.append(None)
        return items
    return value


class _Converter:
    def __init__(self, source: str | None) -> None:
        self.source = source
        self.nodes = 0
        self.loader = _YamlLoader("")

    def fail(self, node: Node, message: str) -> ParseFailed:
        return ParseFailed(FlowIssue("", message, node.start_mark.line + 1, self.source))

    def convert(self, node: Node, depth: int) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.fail(node, f"the definition has more than {MAX_NODES} values (after expanding aliases)")
        if depth > MAX_DEPTH:
            raise ParseFailed(_too_deep(node.start_mark.line + 1, self.source))
        line = node.start_mark.line + 1
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        if isinstance(node, SequenceNode) and node.tag == _STD + "seq":
            items = LList(line)
            for child in node.value:
                items.append(self.convert(child, depth + 1))
                items.item_lines.append(child.start_mark.line + 1)
            return items
        if isinstance(node, MappingNode) and node.tag == _STD + "map":
            return self.mapping(node, depth, line)
        raise self.fail(node, f'unsupported YAML tag "{node.tag}"')

    def mapping(self, node: MappingNode, depth: int, line: int) -> LDict:
        own = sum(1 for k, _ in node.value if k.tag != _STD + "merge")
        try:
            self.loader.flatten_mapping(node)  # resolves "<<" merge keys; merged pairs come first
        except (yaml.YAMLError, RecursionError):
            raise self.fail(node, "bad YAML merge key") from None
        merged = len(node.value) - own
        out = LDict(line)
        from_merge: set[str] = set()
        for i, (key_node, value_node) in enumerate(node.value):
            key = self.convert(key_node, depth + 1)
            if not isinstance(key, str):
                raise self.fail(key_node, f"object keys must be strings, not {json.dumps(key, default=str)}")
            # A key given explicitly overrides a merged one; two explicit equal keys are a mistake.
            if i < merged:
                from_merge.add(key)
            elif key in from_merge:
                from_merge.discard(key)
            elif key in out:
                raise self.fail(key_node, f'duplicate key "{key}"')
            out[key] = self.convert(value_node, depth + 1)
            out.key_lines[key] = key_node.start_mark.line + 1
        return out

    def scalar(self, node: ScalarNode) -> Any:
        if node.tag == "!Ref":
            # Funcraft's deploy-time tag: !Ref S/F → the FC function ARN, !Ref S → the service.
            ref = str(node.value).strip()
            service, _, function = ref.partition("/")
            return f"acs:fc:::services/{service}/functions/{function}" if function else f"acs:fc:::services/{ref}"
        if node.tag == _STD + "timestamp":
            return str(node.value)
        if node.tag not in _SCALAR_TAGS:
            raise self.fail(node, f'unsupported YAML tag "{node.tag}"')
        try:
            value = self.loader.construct_object(node)
        except (yaml.YAMLError, ValueError, OverflowError):
            raise self.fail(node, f'bad value "{node.value}"') from None
        problem = _not_json(value)
        if problem:
            raise self.fail(node, problem)
        return value


_SURROGATE = re.compile("[\ud800-\udfff]")


def _not_json(value: Any) -> str | None:
    """Why a scalar cannot be written as JSON text (a lone surrogate such as "\\ud800", .nan, .inf), or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"the number {value} is not finite: JSON has no NaN or Infinity"
    if isinstance(value, str) and _SURROGATE.search(value):
        return "a string holds a lone UTF-16 surrogate: it is not Unicode text"
    return None
