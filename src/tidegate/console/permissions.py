"""The console's JSON routes and their RAM actions: those of the RPC and MNS operations they stand for.

Keyed by the name of the route's handler (:mod:`tidegate.console.flows_api`, :mod:`tidegate.console.mq_api`).
A page that shows several things needs each of their permissions (an execution's page reads the execution
and its history). The page asks ``POST /console/api/permissions`` (at most :data:`MAX_QUESTIONS` pairs) what
it may do, to hide the buttons of what it may not.
"""

from __future__ import annotations

from collections.abc import Mapping

from tidegate.api.permissions import Need, Where, execution_need, flow_need, schedule_need
from tidegate.api.permissions_rest import RestNeeds
from tidegate.ram import arns

__all__ = ["CONSOLE_NEEDS", "MAX_QUESTIONS"]

#: The most ``{action, resource}`` pairs one ``POST /console/api/permissions`` may ask about.
MAX_QUESTIONS = 100


def _execution(*actions: str) -> RestNeeds:
    return lambda w, path, q, body: [execution_need(w, a, path["flow"], path["execution"]) for a in actions]


def _queue(w: Where, name: str) -> str:
    return arns.mns_queue(w.region, w.account, name)


def _messages(w: Where, name: str) -> str:
    return arns.mns_queue_messages(w.region, w.account, name)


def _name(body: Mapping[str, object]) -> str | None:
    value = body.get("name")
    return value if isinstance(value, str) and value else None


#: Every console JSON route's handler and what it needs.
CONSOLE_NEEDS: Mapping[str, RestNeeds] = {
    # flows and executions (RPC: ListFlows, DescribeFlow, ListExecutions, StartExecution…)
    "list_flows": lambda w, path, q, body: [flow_need(w, "ListFlows", "*")],
    "get_flow": lambda w, path, q, body: [flow_need(w, "DescribeFlow", path["flow"])],
    "list_executions": lambda w, path, q, body: [execution_need(w, "ListExecutions", path["flow"])],
    "start_execution": lambda w, path, q, body: [execution_need(w, "StartExecution", path["flow"], _name(body))],
    "get_execution": _execution("DescribeExecution"),
    "progress": _execution("DescribeExecution", "GetExecutionHistory"),
    "step_runs": _execution("DescribeExecution", "GetExecutionHistory"),
    "stop_execution": _execution("StopExecution"),
    # queues and topics (MNS: ListQueue, GetQueueAttributes, PeekMessage, SendMessage…)
    "list_queues": lambda w, path, q, body: [Need("mns:ListQueue", arns.mns_queues(w.region, w.account))],
    # its messages only with mns:PeekMessage too (mq_api.get_queue)
    "get_queue": lambda w, path, q, body: [Need("mns:GetQueueAttributes", _queue(w, path["queue"]))],
    "send_message": lambda w, path, q, body: [Need("mns:SendMessage", _messages(w, path["queue"]))],
    "delete_quarantined": lambda w, path, q, body: [Need("mns:DeleteMessage", _messages(w, path["queue"]))],
    "list_topics": lambda w, path, q, body: [Need("mns:ListTopic", arns.mns_topics(w.region, w.account))],
    "get_topic": lambda w, path, q, body: [
        Need("mns:GetTopicAttributes", arns.mns_topic(w.region, w.account, path["topic"])),
        Need("mns:ListSubscriptionByTopic", arns.mns_subscriptions(w.region, w.account, path["topic"])),
    ],
    "publish": lambda w, path, q, body: [
        Need("mns:PublishMessage", arns.mns_topic_messages(w.region, w.account, path["topic"]))
    ],
    # schedules (RPC: ListFlows + ListSchedules of every flow; UpdateSchedule)
    "list_schedules": lambda w, path, q, body: [flow_need(w, "ListFlows", "*"), schedule_need(w, "ListSchedules", "*")],
    "set_schedule": lambda w, path, q, body: [schedule_need(w, "UpdateSchedule", path["flow"], path["schedule"])],
    "list_nodes": lambda w, path, q, body: [Need("tidegate:ListNodes", "*")],
    # the tasks waiting on a callback (REST: GET /tasks and the operator's reports)
    "list_tasks": lambda w, path, q, body: [execution_need(w, "ListExecutions", q.get("flow") or "*")],
    "waiting_task_succeeded": _execution("ReportTaskSucceeded"),
    "waiting_task_failed": _execution("ReportTaskFailed"),
}
