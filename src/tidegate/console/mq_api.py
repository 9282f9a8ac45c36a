"""Console endpoints for queues, topics and schedules (thin: they call the mq services and WorkflowService)."""

from __future__ import annotations

import dataclasses
from typing import Any

from starlette.requests import Request

from tidegate.api.rest_render import schedule_doc
from tidegate.console.web import ConsoleServices, Invalid, may
from tidegate.errors import TidegateError
from tidegate.mq import MessageNotExist
from tidegate.mq.wire_requests import MessageRequest
from tidegate.ram import arns
from tidegate.runtime.cron import next_fire_ms

__all__ = ["MQ_ROUTES", "NEXT_FIRES"]

#: Upcoming fire times shown per schedule.
NEXT_FIRES = 3
#: Flows whose schedules the schedules page gathers.
MAX_FLOWS = 1000


def _opt_int(body: dict[str, Any], name: str, lo: int, hi: int) -> int | None:
    value = body.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise Invalid(f"{name} must be an integer in {lo}..{hi}.")
    return value


def _body_text(body: dict[str, Any]) -> str:
    text = body.get("body")
    if not isinstance(text, str) or not text:
        raise Invalid("The message body is required.")
    return text


def list_queues(s: ConsoleServices, req: Request, body: dict[str, Any]) -> Any:
    """Queues with their active, inactive and delayed counts."""
    infos, marker = s.queues.list_queues(
        req.query_params.get("prefix", ""), 200, req.query_params.get("marker", ""), with_counts=True
    )
    return {"queues": [dataclasses.asdict(q) for q in infos], "next_marker": marker}


def get_queue(s: ConsoleServices, req: Request, body: dict[str, Any]) -> Any:
    """One queue's attributes and counts, up to 16 active messages (peeked: nothing changes), parked long
    polls, and the quarantined messages (count and the oldest 100, with the reason).

    The messages (active and quarantined) are shown only to an identity allowed ``mns:PeekMessage`` on the
    queue's messages (``messages_hidden`` says when they are left out).
    """
    name = req.path_params["queue"]
    info = s.queues.get_queue(name)
    peek = may(s, req, "mns:PeekMessage", arns.mns_queue_messages(s.ctx.region, s.ctx.account_id, name))
    try:
        messages = [dataclasses.asdict(m) for m in s.queues.peek(name, 16)] if peek else []
    except MessageNotExist:
        messages = []
    quarantined, items = s.queues.quarantined(name)
    if not peek:
        items = []
    return {
        "queue": dataclasses.asdict(info),
        "messages": messages,
        "receivers_waiting": s.queues.receivers_waiting(name),
        "quarantined": quarantined,
        "quarantined_messages": [dataclasses.asdict(m) for m in items],
        "messages_hidden": not peek,
    }


def delete_quarantined(s: ConsoleServices, req: Request, body: dict[str, Any]) -> Any:
    """Delete one quarantined message for good (``{id}`` is its quarantine id)."""
    text = req.path_params["id"]
    if not text.isdigit() or len(text) > 18:
        raise Invalid("The quarantine id must be a number.")
    s.queues.delete_quarantined(req.path_params["queue"], int(text))
    return {"deleted": int(text)}


def send_message(s: ConsoleServices, req: Request, body: dict[str, Any]) -> Any:
    """Send ``{"body": str, "delay_seconds"?: int, "priority"?: int}``."""
    message_id, md5 = s.queues.send_message(
        req.path_params["queue"],
        _body_text(body),
        priority=_opt_int(body, "priority", 1, 16),
        delay_s=_opt_int(body, "delay_seconds", 0, 604800),
    )
    return 201, {"message_id": message_id, "body_md5": md5}


def list_topics(s: ConsoleServices, req: Request, body: dict[str, Any]) -> Any:
    """Topics."""
    infos, marker = s.topics.list_topics(req.query_params.get("prefix", ""), 200, req.query_params.get("marker", ""))
    return {"topics": [dataclasses.asdict(t) for t in infos], "next_marker": marker}


def get_topic(s: ConsoleServices, req: Request, body: dict[str, Any]) -> Any:
    """One topic, its subscriptions and each subscription's delivery state (pending pushes, retries,
    pushes that failed for good and the class of the last failure), and the latest 20 failed pushes."""
    name = req.path_params["topic"]
    info = s.topics.get_topic(name)
    subs, _ = s.topics.list_subscriptions(name, "", 1000, "")
    state = s.topics.delivery_state(name)
    failures = s.topics.failure_state(name)
    rows = []
    for sub in subs:
        doc = dataclasses.asdict(sub)
        st = state.get(sub.subscription_name)
        doc["pending"] = int(st["pending"]) if st else 0
        doc["max_attempts"] = int(st["max_attempts"] or 0) if st else 0
        doc["next_attempt_ms"] = int(st["next_ms"]) if st and st["next_ms"] is not None else None
        doc["last_error"] = st["last_error"] if st else None
        doc["delivery_state"] = "idle" if not st else ("retrying" if doc["last_error"] else "pending")
        failed = failures.get(sub.subscription_name)
        doc["failed"] = int(failed["failed"]) if failed else 0
        doc["last_failure"] = failed["last_failure"] if failed else None
        doc["last_failed_ms"] = int(failed["last_failed_ms"]) if failed else None
        rows.append(doc)
    failed_rows = [
        {k: r[k] for k in ("subscription", "message_id", "tag", "publish_ms", "attempts", "failed_ms", "failure")}
        for r in s.topics.failed_deliveries(name, 20)
    ]
    return {"topic": dataclasses.asdict(info), "subscriptions": rows, "failed_deliveries": failed_rows}


def publish(s: ConsoleServices, req: Request, body: dict[str, Any]) -> Any:
    """Publish ``{"body": str, "tag"?: str}``."""
    tag = body.get("tag") or None
    if tag is not None and not isinstance(tag, str):
        raise Invalid("The tag must be a string.")
    result = s.topics.publish(req.path_params["topic"], MessageRequest(body=_body_text(body), tag=tag))
    return 201, {"message_id": result.message_id, "body_md5": result.body_md5}


def _next_fires(cron: str, now_ms: int) -> list[int]:
    out: list[int] = []
    at = now_ms
    try:
        for _ in range(NEXT_FIRES):
            at = next_fire_ms(cron, at)
            out.append(at)
    except TidegateError:
        pass  # the expression fires no more within the horizon
    return out


def list_schedules(s: ConsoleServices, req: Request, body: dict[str, Any]) -> Any:
    """Every flow's schedules with their next fire times (epoch ms)."""
    svc, now = s.ctx.service, s.ctx.clock()
    out: list[dict[str, Any]] = []
    cursor: str | None = None
    flows = 0
    while flows < MAX_FLOWS:
        page = svc.list_flows(100, cursor)
        for flow in page.items:
            token: str | None = None
            while True:
                sp = svc.list_schedules(flow.name, 100, token)
                for sched in sp.items:
                    doc = schedule_doc(sched)
                    doc["next_fires_ms"] = _next_fires(sched.cron, now) if sched.enable else []
                    out.append(doc)
                token = sp.next_token
                if token is None:
                    break
        flows += len(page.items)
        cursor = page.next_token
        if cursor is None:
            break
    return {"schedules": out, "now_ms": now}


def set_schedule(s: ConsoleServices, req: Request, body: dict[str, Any]) -> Any:
    """Enable or disable: ``{"enable": bool}``."""
    enable = body.get("enable")
    if not isinstance(enable, bool):
        raise Invalid("enable must be true or false.")
    record = s.ctx.service.update_schedule(req.path_params["flow"], req.path_params["schedule"], enable=enable)
    doc = schedule_doc(record)
    doc["next_fires_ms"] = _next_fires(record.cron, s.ctx.clock()) if record.enable else []
    return doc


MQ_ROUTES = [
    ("/queues", "GET", list_queues),
    ("/queues/{queue}", "GET", get_queue),
    ("/queues/{queue}/messages", "POST", send_message),
    ("/queues/{queue}/quarantine/{id}", "DELETE", delete_quarantined),
    ("/topics", "GET", list_topics),
    ("/topics/{topic}", "GET", get_topic),
    ("/topics/{topic}/messages", "POST", publish),
    ("/schedules", "GET", list_schedules),
    ("/flows/{flow}/schedules/{schedule}", "PATCH", set_schedule),
]
