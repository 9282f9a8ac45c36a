"""Scenario snippets shared by the SDK tests (Python source run inside an SDK environment)."""

from __future__ import annotations

from pathlib import Path

PASS_FLOW = """version: v1
type: flow
steps:
  - type: pass
    name: p
    outputMappings:
      - target: x
        source: 1
"""

CALLBACK_FLOW = """version: v1
type: flow
steps:
  - type: task
    name: t
    resourceArn: acs:fc:::services/svc/functions/ack
    pattern: waitForCallback
    inputMappings:
      - target: token
        source: $context.task.token
"""

# A function for waitForCallback steps: it only acknowledges; the test reports with the token it finds
# in the history (TaskScheduled input).
ACK_FUNCTION = """
def handler(event, context):
    return {"submitted": True}
"""


def write_functions(root: Path) -> Path:
    """Create ``root/svc/ack.py`` and return ``root`` (the ``--functions`` folder)."""
    (root / "svc").mkdir(parents=True, exist_ok=True)
    (root / "svc" / "ack.py").write_text(ACK_FUNCTION)
    return root


# Helpers defined in every scenario that needs them: wait_token(flow, execution) polls the history (with a
# deadline) until the task is submitted and returns its token. The scenario runs in the SDK's own
# environment, which cannot import tests.waiting, hence this one copy of the loop.
HELPERS = """
import json, time

def wait_token(flow, name, deadline_s=30):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        events = call("GetExecutionHistory", FlowName=flow, ExecutionName=name)["ok"]["Events"]
        if any(e["Type"] == "TaskSubmitted" for e in events):
            sched = [e for e in events if e["Type"] == "TaskScheduled"][-1]
            return json.loads(sched["EventDetail"])["input"]["token"]
        time.sleep(0.05)  # polling a condition within a deadline
    raise AssertionError("the task was not submitted in time")
"""
