"""The flows and executions the crash tests run, and the folder of stand-in functions they call.

Every flow blocks somewhere for a few seconds (a wait step, a retry interval, a hanging function) so that
a test can SIGKILL the runtime while executions are in the middle of it.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

FUNCTIONS = Path(__file__).resolve().parent / "functions"

_FN = "acs:fc:::services/crash/functions"

# $context values the journaling functions need to tell attempts apart (see functions/crash/_journal.py).
_JOURNAL_SOURCES = {
    "exec": "$context.execution.name",
    "step": "$context.step.name",
    "token": "$context.task.token",
    "value": "$input.value",
}


def _journal(indent: int) -> str:
    pad = " " * indent
    return "".join(f"\n{pad}- target: {t}\n{pad}  source: {s}" for t, s in _JOURNAL_SOURCES.items())


_JOURNAL = _journal(6)

WAITER = f"""\
version: v1
type: flow
steps:
  - type: task
    name: prepare
    resourceArn: {_FN}/double
  - type: wait
    name: pause
    duration: 2
  - type: task
    name: finish
    resourceArn: {_FN}/double
"""

PARALLEL = f"""\
version: v1
type: flow
steps:
  - type: parallel
    name: fan
    branches:
      - steps:
          - type: task
            name: quick
            resourceArn: {_FN}/double
      - steps:
          - type: wait
            name: hold
            duration: 2
          - type: task
            name: late
            resourceArn: {_FN}/double
      - steps:
          - type: task
            name: shaky
            resourceArn: {_FN}/flaky
            inputMappings:{_journal(14)}
              - target: failures
                source: 1
            retry:
              - errors: [FlakyError]
                intervalSeconds: 1
                multiplier: 1
                maxAttempts: 3
    outputMappings:
      - target: branches
        source: $local
  - type: task
    name: sum
    resourceArn: {_FN}/total
    inputMappings:
      - target: parts
        source: $local.branches[*].value
"""

RETRY = f"""\
version: v1
type: flow
steps:
  - type: task
    name: flaky
    resourceArn: {_FN}/flaky
    inputMappings:{_JOURNAL}
      - target: failures
        source: 2
    retry:
      - errors: [FlakyError]
        intervalSeconds: 1
        multiplier: 1.5
        maxAttempts: 3
  - type: task
    name: after
    resourceArn: {_FN}/double
"""

ONCE = f"""\
version: v1
type: flow
steps:
  - type: task
    name: slow
    resourceArn: {_FN}/once
    inputMappings:{_JOURNAL}
  - type: pass
    name: done
"""

FLOWS = {"waiter": WAITER, "parallel": PARALLEL, "retry": RETRY, "once": ONCE}


def execution(flow: str, name: str, value: int) -> dict[str, Any]:
    """One planned execution (``value`` is its input)."""
    return {"flow": flow, "name": name, "input": {"value": value}}


def plan(executions: list[dict[str, Any]]) -> dict[str, Any]:
    """A worker plan: every flow definition plus the executions to start."""
    return {"flows": FLOWS, "executions": executions}


def copy_functions(dest: Path) -> Path:
    """Copy the stand-in functions to ``dest`` (their journals then live there); return the folder."""
    shutil.copytree(FUNCTIONS, dest, ignore=shutil.ignore_patterns("__pycache__", "state"))
    return dest
