"""Build and validate ``task`` steps: target, pattern, serviceParams, retry and catch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tidegate.flow._fields import Obj, as_obj, plain
from tidegate.flow._values import build_mappings, check_goto
from tidegate.flow.mapping import parse_param_source
from tidegate.flow.model import Catch, Const, Pattern, Resource, ResourceKind, Retry, Source, Step, TaskStep
from tidegate.flow.resources import parse_action, parse_resource_arn
from tidegate.names import MAX_ERROR_LENGTH

__all__ = ["MAX_HEARTBEAT_SECONDS", "MAX_RETRY_SECONDS", "build_task"]

MAX_RETRY_SECONDS = 86400
"""Retry ``intervalSeconds`` and ``maxIntervalSeconds`` are at most one day."""

MAX_HEARTBEAT_SECONDS = 31_536_000
"""``heartbeatSeconds`` is at most one year, the longest an execution runs."""

BuildSteps = Callable[..., tuple[Step, ...]]


def build_task(obj: Obj, siblings: frozenset[str], common: dict[str, Any], build_steps: BuildSteps) -> Step | None:
    """A :class:`TaskStep` from ``obj`` (``build_steps`` builds the steps of a catch item)."""
    resource = _resource(obj)
    pattern_text = obj.get("pattern", "str")
    pattern = Pattern.REQUEST_RESPONSE
    if pattern_text is not None:
        if pattern_text in Pattern._value2member_map_:
            pattern = Pattern(pattern_text)
        else:
            choices = ", ".join(p.value for p in Pattern)
            obj.error("pattern", f'unknown pattern "{pattern_text}": expected one of {choices}')
    timeout = obj.get("timeoutSeconds", "int")
    if timeout is not None and timeout <= 0:
        obj.error("timeoutSeconds", f"must be a positive number of seconds, not {timeout}")
    heartbeat = _heartbeat(obj, resource, pattern, timeout)
    params = _service_params(obj)
    error_mappings = build_mappings(obj, "errorMappings")
    retry = tuple(r for r in (_retry(obj, *item) for item in obj.items("retry")) if r is not None)
    catch = tuple(c for c in (_catch(obj, siblings, common["name"], build_steps, *i) for i in obj.items("catch")) if c)
    if resource is None:
        return None
    return TaskStep(
        **common,
        resource=resource,
        pattern=pattern,
        timeout_seconds=timeout,
        heartbeat_seconds=heartbeat,
        service_params=params,
        error_mappings=error_mappings,
        retry=retry,
        catch=catch,
    )


def _resource(obj: Obj) -> Resource | None:
    arn = obj.get("resourceArn", "str")
    action = obj.get("action", "str")
    if "resourceArn" in obj.data and "action" in obj.data:
        obj.error("action", 'a task step has either "resourceArn" or "action", not both')
        return None
    if "resourceArn" not in obj.data and "action" not in obj.data:
        obj.error(None, 'a task step needs "resourceArn" or "action"')
        return None
    if arn is not None:
        return obj.parsed("resourceArn", arn, parse_resource_arn)
    if action is not None:
        return obj.parsed("action", action, parse_action)
    return None


def _heartbeat(obj: Obj, resource: Resource | None, pattern: Pattern, timeout: int | None) -> int | None:
    """``heartbeatSeconds`` (a tidegate extension): a positive integer, at most ``timeoutSeconds``, on a step
    that waits on a callback or a function, the two kinds of task whose worker can report a heartbeat."""
    value: int | None = obj.get("heartbeatSeconds", "int")
    if value is None:
        return None
    if not 0 < value <= MAX_HEARTBEAT_SECONDS:
        obj.error("heartbeatSeconds", f"must be 1-{MAX_HEARTBEAT_SECONDS} seconds, not {value}")
        return None
    if timeout is not None and timeout > 0 and value > timeout:
        obj.error("heartbeatSeconds", f"must be at most timeoutSeconds ({timeout}), not {value}")
        return None
    function = resource is not None and resource.kind is ResourceKind.FUNCTION
    if pattern is not Pattern.WAIT_FOR_CALLBACK and not function and resource is not None:
        obj.error(
            "heartbeatSeconds",
            f"only a task that waits on a callback (pattern: waitForCallback) or calls a function can have "
            f"heartbeats, not a {pattern} task of {resource.kind}",
        )
        return None
    return value


def _service_params(obj: Obj) -> tuple[tuple[str, Source], ...]:
    sub = obj.sub("serviceParams")
    if sub is None:
        return ()
    out: list[tuple[str, Source]] = []
    for key, value in sub.data.items():
        source = sub.parsed(key, value, parse_param_source)
        if isinstance(source, Const):
            source = Const(plain(value))
        if source is not None:
            out.append((key, source))
    obj.bad |= sub.bad
    return tuple(out)


def _errors(item: Obj) -> tuple[str, ...]:
    errors = item.get("errors", "list", required=True)
    if errors is None:
        return ()
    if not errors:
        item.error("errors", "must list at least one error name")
    for i, name in enumerate(errors):
        if not isinstance(name, str) or not 1 <= len(name) <= MAX_ERROR_LENGTH:
            item.error("errors", f"item {i} must be an error name of 1-{MAX_ERROR_LENGTH} characters")
    return tuple(e for e in errors if isinstance(e, str))


def _number(item: Obj, key: str, kind: str, low: float, high: float | None) -> Any:
    value = item.get(key, kind)
    if value is None:
        return None
    if value != value or value < low or (high is not None and value > high):
        bound = f"between {low:g} and {high:g}" if high is not None else f"{low:g} or more"
        item.error(key, f"must be {bound}, not {value}")
        return None
    return value


def _retry(obj: Obj, path: str, value: Any, line: int | None) -> Retry | None:
    item = as_obj(obj.ctx, path, value, line, "a retry policy")
    if item is None:
        obj.bad = True
        return None
    item.only(("errors", "intervalSeconds", "maxIntervalSeconds", "maxAttempts", "multiplier"), "a retry policy")
    errors = _errors(item)
    fields: dict[str, Any] = {
        "interval_seconds": _number(item, "intervalSeconds", "number", 0, MAX_RETRY_SECONDS),
        "max_interval_seconds": _number(item, "maxIntervalSeconds", "number", 0, MAX_RETRY_SECONDS),
        "max_attempts": _number(item, "maxAttempts", "int", 0, None),
        "multiplier": _number(item, "multiplier", "number", 1, None),
    }
    obj.bad |= item.bad
    return Retry(errors=errors, **{k: v for k, v in fields.items() if v is not None})


def _catch(
    obj: Obj,
    siblings: frozenset[str],
    owner: str,
    build_steps: BuildSteps,
    path: str,
    value: Any,
    line: int | None,
) -> Catch | None:
    item = as_obj(obj.ctx, path, value, line, "a catch policy")
    if item is None:
        obj.bad = True
        return None
    item.only(("errors", "goto", "steps"), "a catch policy")
    errors = _errors(item)
    if "goto" not in item.data and "steps" not in item.data:
        item.error(None, 'missing required field "goto"')
    goto = check_goto(item, "goto", siblings, owner)
    steps = build_steps(obj.ctx, item, "steps", required=False, non_empty=False)
    obj.bad |= item.bad
    return Catch(errors=errors, goto=goto, steps=steps)
