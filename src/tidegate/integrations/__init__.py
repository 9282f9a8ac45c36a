"""What a task step can target: one module per integration, chosen by the resource kind.

Every integration takes a :class:`TaskJob` (one attempt of one task step) and returns an
:class:`Outcome`: the event that completes the task, or "submitted" for a waitForCallback task whose
message or invocation went out and which now waits for ReportTaskSucceeded/Failed.
"""

from __future__ import annotations

from tidegate.integrations.base import Integration, Outcome, Registry, TaskJob, failed, succeeded

__all__ = ["Integration", "Outcome", "Registry", "TaskJob", "failed", "succeeded"]
