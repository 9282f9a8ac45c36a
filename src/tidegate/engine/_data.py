"""Data helpers of the interpreter: step inputs/outputs, ``$context``, the size limit (docs/engine.md).

The mapping language itself lives in :mod:`tidegate.flow.mapping`; this module only decides *which*
documents each mapping list reads. Data is never mutated after it is built (merges make new dicts), so
history events and frames may share objects safely.
"""

from __future__ import annotations

import json
from typing import Any

from tidegate.engine._types import rfc3339_ms
from tidegate.flow.mapping import Scope, apply_mappings, default_input, evaluate_params, merge_local
from tidegate.flow.model import Mapping, Path, Root, Source, StepBase
from tidegate.flow.paths import resolve

MAX_STEP_DATA_BYTES = 32 * 1024
"""Step input + output + local must not exceed 32 KiB (docs/engine.md, Limits)."""

__all__ = [
    "MAX_STEP_DATA_BYTES",
    "ContextBuilder",
    "data_size",
    "merge_local",
    "params",
    "resolve_self",
    "step_input",
    "step_output",
]


class ContextBuilder:
    """Builds ``$context`` objects for one execution (only when a mapping can read them)."""

    __slots__ = ("_execution", "_flow")

    def __init__(self, flow_name: str, execution_name: str, started_ms: int) -> None:
        self._execution = {"name": execution_name, "startedTime": rfc3339_ms(started_ms)}
        self._flow = {"name": flow_name}

    def build(self, step_name: str, event_id: int, token: str | None) -> dict[str, Any]:
        """The ``$context`` of a step; ``task.token`` only for task steps."""
        # Shared sub-dicts are safe: mapping evaluation deep-copies whatever it reads.
        ctx: dict[str, Any] = {
            "execution": self._execution,
            "flow": self._flow,
            "step": {"name": step_name, "eventId": event_id},
        }
        if token is not None:
            ctx["task"] = {"token": token}
        return ctx


def step_input(
    step: StepBase,
    parent_input: dict[str, Any],
    parent_local: dict[str, Any],
    ctx: ContextBuilder,
    event_id: int,
    token: str | None = None,
) -> dict[str, Any]:
    """A step's input: its inputMappings over (parent input, parent local), else their merge."""
    if step.input_mappings is None:
        return default_input(parent_input, parent_local)
    context = ctx.build(step.name, event_id, token) if reads_context(step.input_mappings) else {}
    return apply_mappings(step.input_mappings, Scope(parent_input, parent_local, context))


def step_output(
    mappings: tuple[Mapping, ...] | None,
    step_name: str,
    input: dict[str, Any],
    local: Any,
    default: dict[str, Any] | None,
    ctx: ContextBuilder,
    event_id: int,
) -> dict[str, Any]:
    """A step's output: ``mappings`` over (step input, step local), else ``default``."""
    if mappings is None:
        return default if default is not None else {}
    context = ctx.build(step_name, event_id, None) if reads_context(mappings) else {}
    return apply_mappings(mappings, Scope(input, local, context))


# id(mappings) -> (mappings, reads $context?). The entry keeps the tuple alive, so an id is never reused
# while it is cached; the cache is cleared when it grows past the bound (many flows loaded over time).
_CONTEXT_READERS: dict[int, tuple[tuple[Mapping, ...], bool]] = {}


def reads_context(mappings: tuple[Mapping, ...]) -> bool:
    """True when a mapping source reads ``$context`` (building it is then needed)."""
    entry = _CONTEXT_READERS.get(id(mappings))
    if entry is not None and entry[0] is mappings:
        return entry[1]
    found = any(isinstance(m.source, Path) and m.source.root is Root.CONTEXT for m in mappings)
    if len(_CONTEXT_READERS) > 10_000:
        _CONTEXT_READERS.clear()
    _CONTEXT_READERS[id(mappings)] = (mappings, found)
    return found


def params(
    service_params: tuple[tuple[str, Source], ...],
    step_name: str,
    input: dict[str, Any],
    ctx: ContextBuilder,
    event_id: int,
    token: str,
) -> dict[str, Any]:
    """A task's serviceParams, evaluated against its mapped input (``$``, ``$.x``) and ``$context``."""
    if not service_params:
        return {}
    return evaluate_params(service_params, Scope(input, {}, ctx.build(step_name, event_id, token)))


def resolve_self(path: Path, input: dict[str, Any]) -> Any:
    """Resolve a ``$.x`` path (wait duration/timestamp, foreach collection) against a step input."""
    return resolve(path, Scope(input, {}, {}))


_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def data_size(*docs: Any) -> int:
    """UTF-8 size in bytes of the compact JSON of ``docs`` (summed)."""
    # One encode of the list, minus its brackets and separating commas.
    text = _encoder.encode(docs)
    size = len(text) if text.isascii() else len(text.encode())
    return size - 1 - len(docs)
