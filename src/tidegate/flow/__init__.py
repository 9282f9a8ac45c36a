"""tidegate.flow: FDL definitions as a typed, validated model, with the mapping, path and condition languages.

Nothing here does I/O except :func:`load_flow_file`, and nothing imports tidegate beyond
:mod:`tidegate.errors`.
"""

from __future__ import annotations

from tidegate.errors import FlowError, FlowIssue, FlowValidationError, UnsupportedFlowSyntax
from tidegate.flow.conditions import Condition, ConditionSyntaxError, parse_condition
from tidegate.flow.loader import load_flow, load_flow_file, validate_flow
from tidegate.flow.mapping import (
    Scope,
    apply_mappings,
    default_input,
    evaluate_params,
    evaluate_source,
    merge_local,
)
from tidegate.flow.model import (
    ALL_ERRORS,
    JSON,
    MISSING,
    WILDCARD,
    Catch,
    ChoiceBranch,
    ChoiceDefault,
    ChoiceStep,
    Const,
    FailStep,
    Flow,
    ForeachStep,
    Mapping,
    ParallelStep,
    PassStep,
    Path,
    Pattern,
    Resource,
    ResourceKind,
    Retry,
    Root,
    Source,
    Step,
    StepType,
    SucceedStep,
    TaskStep,
    WaitStep,
    error_matches,
    iter_steps,
)
from tidegate.flow.paths import PathSyntaxError, parse_path, resolve
from tidegate.flow.resources import ResourceError

__all__ = [
    "ALL_ERRORS",
    "JSON",
    "MISSING",
    "WILDCARD",
    "Catch",
    "ChoiceBranch",
    "ChoiceDefault",
    "ChoiceStep",
    "Condition",
    "ConditionSyntaxError",
    "Const",
    "FailStep",
    "Flow",
    "FlowError",
    "FlowIssue",
    "FlowValidationError",
    "ForeachStep",
    "Mapping",
    "ParallelStep",
    "PassStep",
    "Path",
    "PathSyntaxError",
    "Pattern",
    "Resource",
    "ResourceError",
    "ResourceKind",
    "Retry",
    "Root",
    "Scope",
    "Source",
    "Step",
    "StepType",
    "SucceedStep",
    "TaskStep",
    "UnsupportedFlowSyntax",
    "WaitStep",
    "apply_mappings",
    "default_input",
    "error_matches",
    "evaluate_params",
    "evaluate_source",
    "iter_steps",
    "load_flow",
    "load_flow_file",
    "merge_local",
    "parse_condition",
    "parse_path",
    "resolve",
    "validate_flow",
]
