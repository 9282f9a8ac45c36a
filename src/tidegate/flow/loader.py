"""Load an FDL definition (YAML or JSON text) into a validated :class:`Flow` (docs/flow-language.md).

Validation collects every issue of the document at once; each carries the document path and the source
line. The CloudFlow syntax (``Type: StateMachine``) is recognised and refused.
"""

from __future__ import annotations

import os
from pathlib import Path as FilePath
from typing import Any

from tidegate.errors import FlowIssue, FlowValidationError, UnsupportedFlowSyntax
from tidegate.flow._fields import Ctx, Obj, describe
from tidegate.flow._steps import build_steps
from tidegate.flow._values import build_mappings
from tidegate.flow._yaml import ParseFailed, parse_document
from tidegate.flow.model import Flow, Step, iter_steps

__all__ = ["MAX_FLOW_TIMEOUT", "VERSIONS", "load_flow", "load_flow_file", "validate_flow"]

VERSIONS = ("v1", "v1beta1")
"""Both FDL versions are accepted with identical semantics."""
MAX_FLOW_TIMEOUT = 31_536_000
"""An execution runs at most one year."""

_TOP = ("version", "type", "steps", "inputMappings", "outputMappings", "timeoutSeconds", "name")
_CLOUDFLOW = (
    "the CloudFlow syntax (Type: StateMachine) is not supported: write the flow in FDL "
    "(version: v1, type: flow, steps: [...])"
)


def load_flow(text: str, *, source: str | None = None) -> Flow:
    """Parse and validate an FDL definition.

    Args:
        text: the definition, YAML or JSON.
        source: a file name or label used in issue messages and kept in :attr:`Flow.source`.

    Returns:
        The validated, immutable flow.

    Raises:
        FlowValidationError: with every issue found (``.issues``), each with a path and a line.
        UnsupportedFlowSyntax: when the text is a CloudFlow (``Type: StateMachine``) definition.
    """
    flow, issues = _load(text, source)
    if flow is None:
        raise FlowValidationError(issues)
    return flow


def load_flow_file(path: str | os.PathLike[str]) -> Flow:
    """Read and load the definition in the file at ``path`` (its name is the issues' source).

    Raises:
        FlowValidationError: when the file cannot be read or the definition is not valid.
        UnsupportedFlowSyntax: when the file holds a CloudFlow definition.
    """
    name = os.fspath(path)
    try:
        text = FilePath(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FlowValidationError([FlowIssue("", f"cannot read the file: {exc}", None, name)]) from None
    return load_flow(text, source=name)


def validate_flow(text: str, *, source: str | None = None) -> list[FlowIssue]:
    """Every issue of the definition; ``[]`` when it is valid.

    A CloudFlow definition gives one issue with the :class:`UnsupportedFlowSyntax` message.
    """
    try:
        return _load(text, source)[1]
    except UnsupportedFlowSyntax as exc:
        return [FlowIssue("", exc.message, 1 if isinstance(text, str) else None, source)]


def _load(text: str, source: str | None) -> tuple[Flow | None, list[FlowIssue]]:
    if not isinstance(text, str):
        return None, [FlowIssue("", f"the definition must be text, not {type(text).__name__}", None, source)]
    try:
        doc = parse_document(text, source)
    except ParseFailed as exc:
        return None, [exc.issue]
    ctx = Ctx(source)
    if not isinstance(doc, dict):
        ctx.add("", f"the definition must be an object with version, type and steps, not {describe(doc)}", 1)
        return None, ctx.issues
    if doc.get("Type") == "StateMachine":
        raise UnsupportedFlowSyntax(_CLOUDFLOW)
    flow = _build_flow(ctx, Obj(ctx, "", doc), source)
    if ctx.issues:
        # Stable sort: issues read top to bottom, those of one line in discovery order.
        return None, sorted(ctx.issues, key=lambda i: i.line if i.line is not None else 1 << 62)
    return flow, []


def _build_flow(ctx: Ctx, top: Obj, source: str | None) -> Flow:
    top.only(_TOP, "the flow definition")
    version = top.get("version", "str", required=True)
    if version is not None and version not in VERSIONS:
        top.error("version", f'unsupported version "{version}": expected v1 or v1beta1')
    kind = top.get("type", "str", required=True)
    if kind is not None and kind != "flow":
        top.error("type", f'must be "flow", not "{kind}"')
    timeout = top.get("timeoutSeconds", "int")
    if timeout is not None and not 0 < timeout <= MAX_FLOW_TIMEOUT:
        top.error("timeoutSeconds", f"must be between 1 and {MAX_FLOW_TIMEOUT} seconds (one year), not {timeout}")
    name: Any = top.data.get("name")
    steps = build_steps(ctx, top, "steps", required=True, non_empty=True)
    return Flow(
        version=version or "",
        steps=steps,
        input_mappings=build_mappings(top, "inputMappings"),
        output_mappings=build_mappings(top, "outputMappings"),
        timeout_seconds=timeout,
        name=name if isinstance(name, str) else None,
        source=source,
        steps_by_path=_by_path(steps),
    )


def _by_path(steps: tuple[Step, ...]) -> dict[str, Step]:
    return {step.path: step for step in iter_steps(steps)}
