"""The typed, immutable model of an FDL flow (docs/flow-language.md).

The loader (``tidegate.flow.loader``) builds these objects from YAML or JSON text and validates them; the
engine only ever sees this model. Every object is a frozen dataclass; sequences are tuples.

Conventions
-----------
* ``None`` for an optional field means "absent in the source". For mapping lists this matters: an absent
  ``inputMappings`` gives the default input (merge of parent input and parent local), an absent
  ``outputMappings`` the default output (``$local``, or ``{}`` for parallel/foreach); an explicit empty
  list builds ``{}``.
* ``path`` on a step is its location in the document (``steps[2].branches[0].steps[1]``), unique within
  the flow; the engine uses it to address step definitions. ``line`` is the 1-based source line of the
  step's mapping when the source has one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from tidegate.flow.conditions import Condition

JSON: TypeAlias = Any
"""A JSON value: dict, list, str, int, float, bool or None."""


class StepType(StrEnum):
    TASK = "task"
    PASS = "pass"
    WAIT = "wait"
    CHOICE = "choice"
    PARALLEL = "parallel"
    FOREACH = "foreach"
    SUCCEED = "succeed"
    FAIL = "fail"


class Pattern(StrEnum):
    REQUEST_RESPONSE = "requestResponse"
    SYNC = "sync"
    WAIT_FOR_CALLBACK = "waitForCallback"


# --- paths and sources ------------------------------------------------------------------------------


class Root(StrEnum):
    """What a path starts from."""

    INPUT = "input"  # $input
    LOCAL = "local"  # $local
    CONTEXT = "context"  # $context
    SELF = "self"  # $ / $.x : the step's own input (conditions, serviceParams, wait, foreach collection)


@dataclass(frozen=True, slots=True)
class Wildcard:
    """``[*]``: every element of a list (anything else, objects included, contributes no match)."""

    def __str__(self) -> str:
        return "[*]"


WILDCARD = Wildcard()

Segment: TypeAlias = str | int | Wildcard
"""``.key`` → str, ``[n]`` → int, ``[*]`` → :data:`WILDCARD`."""


@dataclass(frozen=True, slots=True)
class Path:
    """A parsed path such as ``$input.events[0].oss.object.key`` or ``$local[*].parts[*]``.

    Resolution (``tidegate.flow.paths.resolve``): a path without a wildcard yields the single value it
    names or :data:`MISSING`; a path with wildcards yields a list of every match, nested ``[*]``
    flattened one level per wildcard.
    """

    root: Root
    segments: tuple[Segment, ...]
    text: str

    @property
    def has_wildcard(self) -> bool:
        return any(isinstance(s, Wildcard) for s in self.segments)


@dataclass(frozen=True, slots=True)
class Const:
    """A constant of any JSON type (a mapping source or serviceParams value that is not a path)."""

    value: JSON


Source: TypeAlias = Path | Const


class _Missing:
    """The result of a path that names nothing. Falsy; never equal to a JSON value."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass(frozen=True, slots=True)
class Mapping:
    """``{target: key, source: value}``. ``target`` is a literal top-level key of the built object."""

    target: str
    source: Source


# --- resources --------------------------------------------------------------------------------------


class ResourceKind(StrEnum):
    FUNCTION = "fc"  # acs:fc:{region}:{account}:services/{service}[.{qualifier}]/functions/{function}
    QUEUE = "mns-queue"  # acs:mns:{region}:{account}:/queues/{queue}/messages
    TOPIC = "mns-topic"  # acs:mns:{region}:{account}:/topics/{topic}/messages
    FLOW = "fnf-flow"  # acs:fnf:{region}:{account}:flow/{flow}
    ACTION = "action"  # action: {product}:{Api}


@dataclass(frozen=True, slots=True, kw_only=True)
class Resource:
    """A parsed task target. ``name`` is the function, queue, topic or flow name, or the API name."""

    kind: ResourceKind
    text: str
    name: str
    region: str = ""
    account: str = ""
    service: str = ""  # fc only
    qualifier: str = ""  # fc only, e.g. LATEST
    product: str = ""  # action only, e.g. fnf, ocr


# --- retry and catch --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Retry:
    errors: tuple[str, ...]
    interval_seconds: float = 1
    max_interval_seconds: float = 86400
    max_attempts: int = 3  # retries after the first attempt
    multiplier: float = 2

    def delay(self, retry_number: int) -> float:
        """Seconds to wait before retry ``retry_number`` (1-based)."""
        return float(min(self.interval_seconds * self.multiplier ** (retry_number - 1), self.max_interval_seconds))


@dataclass(frozen=True, slots=True, kw_only=True)
class Catch:
    errors: tuple[str, ...]
    goto: str | None = None
    steps: tuple[Step, ...] = ()


ALL_ERRORS = "FnF.ALL"


def error_matches(names: tuple[str, ...], error: str) -> bool:
    """Exact, case-sensitive match, plus the ``FnF.ALL`` wildcard."""
    return ALL_ERRORS in names or error in names


# --- steps ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class StepBase:
    name: str
    path: str
    line: int | None = None
    end: bool = False
    input_mappings: tuple[Mapping, ...] | None = None
    output_mappings: tuple[Mapping, ...] | None = None

    @property
    def type(self) -> StepType:
        raise NotImplementedError


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskStep(StepBase):
    resource: Resource
    pattern: Pattern = Pattern.REQUEST_RESPONSE
    timeout_seconds: int | None = None
    heartbeat_seconds: int | None = None
    """A tidegate extension: the worker reports a heartbeat at least this often, or the attempt times out."""
    service_params: tuple[tuple[str, Source], ...] = ()
    error_mappings: tuple[Mapping, ...] | None = None
    retry: tuple[Retry, ...] = ()
    catch: tuple[Catch, ...] = ()

    @property
    def type(self) -> StepType:
        return StepType.TASK


@dataclass(frozen=True, slots=True, kw_only=True)
class PassStep(StepBase):
    @property
    def type(self) -> StepType:
        return StepType.PASS


@dataclass(frozen=True, slots=True, kw_only=True)
class WaitStep(StepBase):
    """Exactly one of ``duration`` (seconds) and ``timestamp`` (RFC 3339) is set; either may be a path."""

    duration: int | float | Path | None = None
    timestamp: str | Path | None = None

    @property
    def type(self) -> StepType:
        return StepType.WAIT


@dataclass(frozen=True, slots=True, kw_only=True)
class ChoiceBranch:
    condition: Condition
    steps: tuple[Step, ...] = ()
    goto: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChoiceDefault:
    steps: tuple[Step, ...] = ()
    goto: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChoiceStep(StepBase):
    choices: tuple[ChoiceBranch, ...]
    default: ChoiceDefault | None = None

    @property
    def type(self) -> StepType:
        return StepType.CHOICE


@dataclass(frozen=True, slots=True, kw_only=True)
class ParallelStep(StepBase):
    branches: tuple[tuple[Step, ...], ...]

    @property
    def type(self) -> StepType:
        return StepType.PARALLEL


@dataclass(frozen=True, slots=True, kw_only=True)
class ForeachStep(StepBase):
    collection: Path
    item: str
    index: str | None = None
    steps: tuple[Step, ...] = ()

    @property
    def type(self) -> StepType:
        return StepType.FOREACH


@dataclass(frozen=True, slots=True, kw_only=True)
class SucceedStep(StepBase):
    @property
    def type(self) -> StepType:
        return StepType.SUCCEED


@dataclass(frozen=True, slots=True, kw_only=True)
class FailStep(StepBase):
    error: str | None = None
    cause: str | None = None

    @property
    def type(self) -> StepType:
        return StepType.FAIL


Step: TypeAlias = TaskStep | PassStep | WaitStep | ChoiceStep | ParallelStep | ForeachStep | SucceedStep | FailStep


@dataclass(frozen=True, slots=True, kw_only=True)
class Flow:
    version: str
    steps: tuple[Step, ...]
    input_mappings: tuple[Mapping, ...] | None = None
    output_mappings: tuple[Mapping, ...] | None = None
    timeout_seconds: int | None = None
    name: str | None = None
    source: str | None = None  # file name or label used in error messages
    steps_by_path: dict[str, Step] = field(default_factory=dict, compare=False, repr=False)
    """Every step of the flow (nested ones too) by its ``path``; filled by the loader."""


def child_steps(step: Step) -> Iterator[Step]:
    """The steps nested directly or indirectly inside ``step``, depth first, in document order."""
    if isinstance(step, TaskStep):
        for catch in step.catch:
            yield from iter_steps(catch.steps)
    elif isinstance(step, ChoiceStep):
        for branch in step.choices:
            yield from iter_steps(branch.steps)
        if step.default is not None:
            yield from iter_steps(step.default.steps)
    elif isinstance(step, ParallelStep):
        for branch_steps in step.branches:
            yield from iter_steps(branch_steps)
    elif isinstance(step, ForeachStep):
        yield from iter_steps(step.steps)


def iter_steps(steps: tuple[Step, ...]) -> Iterator[Step]:
    """Every step of ``steps`` and every step nested in them, depth first, in document order."""
    for step in steps:
        yield step
        yield from child_steps(step)
