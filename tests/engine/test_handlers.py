"""The engine's dispatch tables are written out in one place and cover every step kind of the flow model."""

from __future__ import annotations

import ast
import typing

import pytest

from tests.conftest import REPO
from tidegate.engine._handlers import CHILD_DONE, ENTER, HANDLERS
from tidegate.engine._machine import Handlers
from tidegate.engine._state import ChoiceRun, FanRun, Run, TaskRun, WaitRun
from tidegate.errors import EngineError
from tidegate.flow.model import StepType

ENGINE = REPO / "src" / "tidegate" / "engine"


def test_every_step_kind_of_the_flow_model_has_an_enter_handler() -> None:
    assert set(HANDLERS.enter) == set(StepType)
    assert all(callable(handler) for handler in HANDLERS.enter.values())


def test_every_run_kind_with_child_lists_has_a_child_done_handler() -> None:
    runs = set(typing.get_args(Run))
    assert runs == {TaskRun, WaitRun, ChoiceRun, FanRun}  # a new run kind: decide whether it owns child lists
    assert set(HANDLERS.child_done) == runs - {WaitRun}


def test_the_tables_cannot_be_changed_after_they_are_built() -> None:
    with pytest.raises(TypeError):
        ENTER[StepType.PASS] = ENTER[StepType.FAIL]  # type: ignore[index]


@pytest.mark.parametrize("kind", list(StepType))
def test_a_table_missing_a_step_kind_is_refused_when_built(kind: StepType) -> None:
    enter = {k: v for k, v in ENTER.items() if k is not kind}
    with pytest.raises(EngineError, match=kind.value):
        Handlers(enter=enter, child_done=CHILD_DONE)


def test_a_table_missing_a_run_kind_is_refused_when_built() -> None:
    child_done = {k: v for k, v in CHILD_DONE.items() if k is not FanRun}
    with pytest.raises(EngineError, match="FanRun"):
        Handlers(enter=ENTER, child_done=child_done)


def test_no_engine_module_is_imported_only_for_its_side_effects() -> None:
    # Handlers are listed in _handlers.py, not registered by decorators run on import: every import of an
    # engine module inside the engine uses a name it imports (ruff's F401 would flag the rest, unless
    # silenced, which is what this looks for).
    for path in sorted(ENGINE.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert "noqa: F401" not in text, path.name
        assert "register_" not in text, path.name
        ast.parse(text)
