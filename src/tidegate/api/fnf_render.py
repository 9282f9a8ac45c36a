"""Store records → the JSON objects of the API (field names exactly as the SDK models)."""

from __future__ import annotations

from typing import Any

from tidegate.engine import rfc3339_ms
from tidegate.status import ExecutionStatus
from tidegate.store import ExecutionRecord, FlowRecord, HistoryRow, ScheduleRecord

__all__ = ["execution_json", "flow_json", "history_json", "schedule_json"]


def flow_json(f: FlowRecord) -> dict[str, Any]:
    """The flow object of Create/Update/DescribeFlow and ListFlows."""
    return {
        "Name": f.name,
        "Id": f.id,
        "Definition": f.definition,
        "Description": f.description,
        "Type": f.type,
        "RoleArn": f.role_arn,
        "CreatedTime": rfc3339_ms(f.created_ms),
        "LastModifiedTime": rfc3339_ms(f.modified_ms),
        "ExecutionMode": "Standard",
    }


def execution_json(e: ExecutionRecord) -> dict[str, Any]:
    """The execution object; ``Output`` is set only once it succeeded, ``StoppedTime`` once it ended."""
    return {
        "Name": e.name,
        "FlowName": e.flow_name,
        "FlowDefinition": e.definition,
        "Input": e.input,
        "Output": (e.output or "") if e.status == ExecutionStatus.SUCCEEDED else "",
        "Status": e.status,
        "StartedTime": rfc3339_ms(e.started_ms),
        "StoppedTime": rfc3339_ms(e.stopped_ms) if e.ended and e.stopped_ms is not None else "",
    }


def history_json(h: HistoryRow) -> dict[str, Any]:
    """One GetExecutionHistory event (``EventDetail`` stays a JSON string)."""
    return {
        "StepName": h.step_name,
        "Type": h.type,
        "EventId": h.event_id,
        "ScheduleEventId": h.schedule_event_id,
        "Time": rfc3339_ms(h.time_ms),
        "EventDetail": h.detail,
    }


def schedule_json(s: ScheduleRecord) -> dict[str, Any]:
    """The schedule object."""
    return {
        "ScheduleName": s.name,
        "ScheduleId": s.id,
        "Description": s.description,
        "Payload": s.payload,
        "CronExpression": s.cron,
        "Enable": s.enable,
        "CreatedTime": rfc3339_ms(s.created_ms),
        "LastModifiedTime": rfc3339_ms(s.modified_ms),
    }
