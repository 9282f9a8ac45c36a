"""Build and validate steps: step lists, the common fields, and every step type but ``task``."""

from __future__ import annotations

from typing import Any

from tidegate.flow._fields import Ctx, Obj, as_obj, join
from tidegate.flow._task import build_task
from tidegate.flow._values import build_mappings, check_goto, duration_value, timestamp_value
from tidegate.flow.conditions import parse_condition
from tidegate.flow.model import (
    ChoiceBranch,
    ChoiceDefault,
    ChoiceStep,
    FailStep,
    ForeachStep,
    ParallelStep,
    PassStep,
    Root,
    Step,
    StepType,
    SucceedStep,
    WaitStep,
)
from tidegate.flow.paths import parse_path
from tidegate.names import MAX_CAUSE_LENGTH, MAX_ERROR_LENGTH, NAME_MAX, NAME_RE

__all__ = ["MAX_BRANCHES", "build_steps"]

MAX_BRANCHES = 100
"""Parallel branches (docs/engine.md, Limits)."""

_COMMON = ("type", "name", "end", "inputMappings", "outputMappings")
_FIELDS: dict[str, tuple[str, ...]] = {
    StepType.TASK: (
        "resourceArn",
        "action",
        "pattern",
        "timeoutSeconds",
        "heartbeatSeconds",
        "serviceParams",
        "errorMappings",
        "retry",
        "catch",
    ),
    StepType.PASS: (),
    StepType.WAIT: ("duration", "timestamp"),
    StepType.CHOICE: ("choices", "default"),
    StepType.PARALLEL: ("branches",),
    StepType.FOREACH: ("iterationMapping", "steps"),
    StepType.SUCCEED: (),
    StepType.FAIL: ("error", "cause"),
}
_TASK_ONLY = (
    "retry",
    "catch",
    "errorMappings",
    "serviceParams",
    "resourceArn",
    "action",
    "pattern",
    "heartbeatSeconds",
)
_LOOP_MESSAGE = "loop steps are not supported: write the loop with a choice step and goto"


def build_steps(ctx: Ctx, owner: Obj, key: str, *, required: bool, non_empty: bool) -> tuple[Step, ...]:
    """Build the step list at ``owner[key]``: every step, unique sibling names, gotos to siblings."""
    items = owner.items(key, required=required, non_empty=non_empty)
    siblings: dict[str, str] = {}
    for path, value, line in items:
        name = value.get("name") if isinstance(value, dict) else None
        if not isinstance(name, str):
            continue
        if name in siblings:
            ctx.add(join(path, "name"), f'duplicate step name "{name}" (also {siblings[name]})', line)
        else:
            siblings[name] = path
    names = frozenset(siblings)
    steps: list[Step] = []
    for path, value, line in items:
        obj = as_obj(ctx, path, value, line, "a step")
        if obj is not None and (step := _build_step(obj, names)) is not None:
            steps.append(step)
    return tuple(steps)


def _build_step(obj: Obj, siblings: frozenset[str]) -> Step | None:
    kind = obj.get("type", "str", required=True)
    name = obj.get("name", "str", required=True)
    if name is not None and not NAME_RE.fullmatch(name):
        obj.error(
            "name",
            f'bad step name "{name}": 1-{NAME_MAX} letters, digits, "_" or "-", not starting with a digit or "-"',
        )
    if kind is None:
        return None
    if kind == "loop":
        obj.error("type", _LOOP_MESSAGE)
        return None
    if kind not in _FIELDS:
        obj.error("type", f'unknown step type "{kind}": expected one of {", ".join(_FIELDS)}')
        return None
    allowed = _COMMON + _FIELDS[kind]
    if kind in (StepType.SUCCEED, StepType.FAIL):
        allowed = tuple(f for f in allowed if f != "end")
    hints = {f: f'"{f}" is only allowed in task steps' for f in _TASK_ONLY}
    hints["end"] = f'"end" is not allowed in {kind} steps: they end their step list already'
    obj.only(allowed, f"a {kind} step", hints)
    common = _common(obj, name)
    step = _BUILDERS[StepType(kind)](obj, siblings, common)
    return None if obj.bad else step


def _common(obj: Obj, name: str | None) -> dict[str, Any]:
    end = obj.get("end", "bool")
    return {
        "name": name or "",
        "path": obj.path,
        "line": obj.line,
        "end": bool(end),
        "input_mappings": build_mappings(obj, "inputMappings"),
        "output_mappings": build_mappings(obj, "outputMappings"),
    }


def _pass(obj: Obj, siblings: frozenset[str], common: dict[str, Any]) -> Step | None:
    return PassStep(**common)


def _succeed(obj: Obj, siblings: frozenset[str], common: dict[str, Any]) -> Step | None:
    return SucceedStep(**common)


def _fail(obj: Obj, siblings: frozenset[str], common: dict[str, Any]) -> Step | None:
    error = obj.get("error", "str")
    if error is not None and not 1 <= len(error) <= MAX_ERROR_LENGTH:
        obj.error("error", f"must be 1-{MAX_ERROR_LENGTH} characters long")
    cause = obj.get("cause", "str")
    if cause is not None and len(cause) > MAX_CAUSE_LENGTH:
        obj.error("cause", f"must be at most {MAX_CAUSE_LENGTH} characters long")
    return FailStep(**common, error=error, cause=cause)


def _wait(obj: Obj, siblings: frozenset[str], common: dict[str, Any]) -> Step | None:
    has_duration, has_timestamp = "duration" in obj.data, "timestamp" in obj.data
    if has_duration == has_timestamp:
        which = "both" if has_duration else "neither"
        obj.error(None, f'a wait step needs exactly one of "duration" and "timestamp", not {which}')
        return None
    if has_duration:
        return WaitStep(**common, duration=duration_value(obj))
    return WaitStep(**common, timestamp=timestamp_value(obj))


def _choice(obj: Obj, siblings: frozenset[str], common: dict[str, Any]) -> Step | None:
    branches: list[ChoiceBranch] = []
    for path, value, line in obj.items("choices", required=True, non_empty=True):
        item = as_obj(obj.ctx, path, value, line, "a choice")
        if item is None:
            obj.bad = True
            continue
        item.only(("condition", "steps", "goto"), "a choice")
        text = item.get("condition", "str", required=True)
        condition = None if text is None else item.parsed("condition", text, parse_condition)
        steps = build_steps(obj.ctx, item, "steps", required=False, non_empty=False)
        goto = check_goto(item, "goto", siblings, common["name"])
        obj.bad |= item.bad
        if condition is not None:
            branches.append(ChoiceBranch(condition=condition, steps=steps, goto=goto))
    default = None
    sub = obj.sub("default")
    if sub is not None:
        sub.only(("steps", "goto"), "a choice default")
        steps = build_steps(obj.ctx, sub, "steps", required=False, non_empty=False)
        default = ChoiceDefault(steps=steps, goto=check_goto(sub, "goto", siblings, common["name"]))
        obj.bad |= sub.bad
    return ChoiceStep(**common, choices=tuple(branches), default=default)


def _parallel(obj: Obj, siblings: frozenset[str], common: dict[str, Any]) -> Step | None:
    items = obj.items("branches", required=True, non_empty=True)
    if len(items) > MAX_BRANCHES:
        obj.error("branches", f"a parallel step has at most {MAX_BRANCHES} branches, not {len(items)}")
    branches: list[tuple[Step, ...]] = []
    for path, value, line in items:
        item = as_obj(obj.ctx, path, value, line, "a branch")
        if item is None:
            obj.bad = True
            continue
        item.only(("steps",), "a parallel branch")
        branches.append(build_steps(obj.ctx, item, "steps", required=True, non_empty=True))
        obj.bad |= item.bad
    return ParallelStep(**common, branches=tuple(branches))


def _foreach(obj: Obj, siblings: frozenset[str], common: dict[str, Any]) -> Step | None:
    mapping = obj.sub("iterationMapping", required=True)
    steps = build_steps(obj.ctx, obj, "steps", required=True, non_empty=True)
    if mapping is None:
        return None
    mapping.only(("collection", "item", "index"), "an iterationMapping")
    text = mapping.get("collection", "str", required=True)
    collection = None if text is None else mapping.parsed("collection", text, parse_path)
    if collection is not None and (collection.root not in (Root.SELF, Root.INPUT) or not collection.segments):
        mapping.error("collection", f'"{text}" must be a path into the step input such as "$.items"')
    item = mapping.get("item", "str", required=True)
    index = mapping.get("index", "str")
    for key, value in (("item", item), ("index", index)):
        if value == "":
            mapping.error(key, "must not be empty")
    if item is not None and item == index:
        mapping.error("index", f'must differ from item "{item}"')
    obj.bad |= mapping.bad
    if collection is None or item is None:
        return None
    return ForeachStep(**common, collection=collection, item=item, index=index, steps=steps)


_BUILDERS: dict[StepType, Any] = {
    StepType.TASK: lambda obj, siblings, common: build_task(obj, siblings, common, build_steps),
    StepType.PASS: _pass,
    StepType.WAIT: _wait,
    StepType.CHOICE: _choice,
    StepType.PARALLEL: _parallel,
    StepType.FOREACH: _foreach,
    StepType.SUCCEED: _succeed,
    StepType.FAIL: _fail,
}
