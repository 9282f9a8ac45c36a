"""Execution statuses as the protocols spell them (leaf module: imports nothing of tidegate).

The engine, the store, the services, the renderers, the command line and the console all take their
status values from here; the values are the wire strings of DescribeExecution.
"""

from __future__ import annotations

from enum import StrEnum


class ExecutionStatus(StrEnum):
    """Execution status values of DescribeExecution (each value is the wire string).

    The order is the one error messages and the OpenAPI document list them in.
    """

    STARTING = "Starting"
    RUNNING = "Running"
    STOPPED = "Stopped"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    TIMED_OUT = "TimedOut"


#: Final statuses: an execution in one never changes again.
TERMINAL: frozenset[ExecutionStatus] = frozenset(
    {ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT, ExecutionStatus.STOPPED}
)
#: Statuses of an execution that still runs.
ACTIVE: frozenset[ExecutionStatus] = frozenset({ExecutionStatus.STARTING, ExecutionStatus.RUNNING})
