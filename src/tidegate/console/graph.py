"""A flow as the console draws it: the block structure of the FDL model as plain JSON.

FDL is block-structured (sequences, choice branches, parallel branches, foreach bodies, catch handlers,
and ``goto`` to a sibling), so the page lays the graph out recursively from this tree; nothing here
knows about coordinates. Every node carries its model ``path`` (unique in the flow), which the execution
projection (:mod:`tidegate.console.projection`) uses to colour it.
"""

from __future__ import annotations

from typing import Any

from tidegate.flow import (
    ChoiceStep,
    FailStep,
    Flow,
    ForeachStep,
    ParallelStep,
    Step,
    SucceedStep,
    TaskStep,
    WaitStep,
)

__all__ = ["flow_graph", "step_node"]


def _branch(label: str, steps: tuple[Step, ...], goto: str | None = None) -> dict[str, Any]:
    return {"label": label, "steps": [step_node(s) for s in steps], "goto": goto}


def _detail(step: Step) -> str:
    if isinstance(step, TaskStep):
        return f"{step.resource.kind.value}: {step.resource.name}"
    if isinstance(step, WaitStep):
        value = step.duration if step.duration is not None else step.timestamp
        return f"wait {value}"
    if isinstance(step, ForeachStep):
        return f"for {step.item} in {step.collection.text}"
    if isinstance(step, FailStep):
        return step.error or "FnF.Failed"
    return ""


def step_node(step: Step) -> dict[str, Any]:
    """One step as a graph node, with its nested blocks.

    ``blocks`` holds the nested step lists: choice branches (label = condition, ``default``), parallel
    branches, the foreach body, or a task's catch handlers (label = the caught errors). ``goto`` on a
    block names the sibling step it jumps to afterwards (drawn as an edge, backwards or forwards).
    ``falls`` says whether control continues to the next sibling.
    """
    node: dict[str, Any] = {
        "path": step.path,
        "name": step.name,
        "type": step.type.value,
        "detail": _detail(step),
        "end": step.end,
        "blocks": [],
        "kind": "",
    }
    if isinstance(step, ChoiceStep):
        node["kind"] = "choice"
        node["blocks"] = [_branch(b.condition.text, b.steps, b.goto) for b in step.choices]
        if step.default is not None:
            node["blocks"].append(_branch("default", step.default.steps, step.default.goto))
        else:
            node["blocks"].append(_branch("no match", ()))
    elif isinstance(step, ParallelStep):
        node["kind"] = "parallel"
        node["blocks"] = [_branch(f"branch {i + 1}", b) for i, b in enumerate(step.branches)]
    elif isinstance(step, ForeachStep):
        node["kind"] = "foreach"
        node["blocks"] = [_branch("each item", step.steps)]
    elif isinstance(step, TaskStep):
        node["pattern"] = step.pattern.value
        node["resource"] = step.resource.text
        if step.catch:
            node["kind"] = "catch"
            node["blocks"] = [_branch("catch " + ", ".join(c.errors), c.steps, c.goto) for c in step.catch]
    node["falls"] = not (step.end or isinstance(step, SucceedStep | FailStep))
    return node


def flow_graph(flow: Flow) -> dict[str, Any]:
    """The whole flow: ``{"steps": [...], "count": number of steps}`` between an implicit Start and End."""
    return {"steps": [step_node(s) for s in flow.steps], "count": len(flow.steps_by_path)}
