"""Mappings and the data model (docs/flow-language.md): build step inputs, outputs, locals and serviceParams.

Decisions (see ``docs/flow-language.md``): a source path that names nothing omits its target key; a
mapping source string is a path only when it starts with ``$input``, ``$local``, ``$context`` or ``$.``
or is exactly ``$`` (``$``/``$.x`` read the input); every other value is a constant. Merges are shallow:
top-level keys only, later wins.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tidegate.flow.model import JSON, MISSING, Const, Mapping, Source
from tidegate.flow.paths import parse_path, resolve

__all__ = [
    "Scope",
    "apply_mappings",
    "default_input",
    "evaluate_params",
    "evaluate_source",
    "is_mapping_path",
    "merge_local",
    "parse_param_source",
    "parse_source",
]

_PATH_PREFIXES = ("$input", "$local", "$context", "$.")


@dataclass(frozen=True, slots=True)
class Scope:
    """What paths read: ``$input`` (and ``$``/``$.x``), ``$local`` and ``$context``."""

    input: JSON
    local: JSON
    context: JSON = field(default_factory=dict)


def is_mapping_path(value: object) -> bool:
    """True when a mapping source value is written as a path rather than a constant."""
    return isinstance(value, str) and (value == "$" or value.startswith(_PATH_PREFIXES))


def parse_source(value: JSON) -> Source:
    """Turn a mapping ``source`` value into a :class:`Path` or a :class:`Const`.

    Raises:
        PathSyntaxError: when the value looks like a path but is not one (``$input..x``).
    """
    if is_mapping_path(value):
        return parse_path(value)
    return Const(value)


def parse_param_source(value: JSON) -> Source:
    """Turn a ``serviceParams`` value into a source: a string starting with ``$`` is a path.

    Raises:
        PathSyntaxError: when a string starting with ``$`` is not a path.
    """
    if isinstance(value, str) and value.startswith("$"):
        return parse_path(value)
    return Const(value)


def evaluate_source(source: Source, scope: Scope) -> JSON:
    """The value of ``source`` in ``scope``: a deep copy, safe to mutate, or :data:`MISSING`."""
    if isinstance(source, Const):
        return copy.deepcopy(source.value)
    value = resolve(source, scope)
    return MISSING if value is MISSING else copy.deepcopy(value)


def apply_mappings(mappings: Sequence[Mapping], scope: Scope) -> dict[str, Any]:
    """Build the object that ``mappings`` describe; a source that names nothing omits its target.

    Targets are literal top-level keys (``a.b`` is the key ``"a.b"``); a later mapping of the same target
    overwrites an earlier one.
    """
    out: dict[str, Any] = {}
    for mapping in mappings:
        value = evaluate_source(mapping.source, scope)
        if value is not MISSING:
            out[mapping.target] = value
    return out


def evaluate_params(params: tuple[tuple[str, Source], ...], scope: Scope) -> dict[str, Any]:
    """Evaluate ``serviceParams`` against the step's mapped input (``scope.input``); missing → omitted."""
    return apply_mappings([Mapping(key, source) for key, source in params], scope)


def default_input(parent_input: dict[str, Any], parent_local: dict[str, Any]) -> dict[str, Any]:
    """A step's input without ``inputMappings``: the parent's input merged with its local, local wins.

    A non-object argument (a parallel or foreach local is a list) contributes nothing.
    """
    out: dict[str, Any] = {}
    for part in (parent_input, parent_local):
        if isinstance(part, dict):
            out.update(part)
    return out


def merge_local(local: dict[str, Any], output: dict[str, Any]) -> dict[str, Any]:
    """A parent's local after a child step output ``output``: shallow top-level merge, later wins."""
    return default_input(local, output)
