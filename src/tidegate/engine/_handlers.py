"""The interpreter's dispatch tables, written out: which function enters each step kind, and what each run
kind does when one of its child step lists ends. A new step kind adds its row here (building the table
checks that every kind has one)."""

from __future__ import annotations

from types import MappingProxyType

from tidegate.engine import _fan, _steps, _task
from tidegate.engine._machine import ChildDoneHandler, EnterHandler, Handlers
from tidegate.engine._state import ChoiceRun, FanRun, Run, TaskRun
from tidegate.flow.model import StepType

ENTER: MappingProxyType[StepType, EnterHandler] = MappingProxyType(
    {
        StepType.TASK: _task.enter_task,
        StepType.PASS: _steps.enter_pass,
        StepType.WAIT: _steps.enter_wait,
        StepType.CHOICE: _steps.enter_choice,
        StepType.PARALLEL: _fan.enter_parallel,
        StepType.FOREACH: _fan.enter_foreach,
        StepType.SUCCEED: _steps.enter_succeed,
        StepType.FAIL: _steps.enter_fail,
    }
)

CHILD_DONE: MappingProxyType[type[Run], ChildDoneHandler] = MappingProxyType(
    {
        ChoiceRun: _steps.choice_done,
        FanRun: _fan.fan_child_done,
        TaskRun: _task.catch_done,
    }
)

#: The tables every :class:`~tidegate.engine._machine.Machine` dispatches with.
HANDLERS = Handlers(enter=ENTER, child_done=CHILD_DONE)
