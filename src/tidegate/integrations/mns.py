"""MNS queues and topics as task targets: ``acs:mns:::/queues/Q/messages``, ``/topics/T/messages``.

The message is written by an effect that runs inside the transaction that commits the step's transition
(the queue lives in the same store), so the step's state change and its message are one atomic step: no
message without its step, no step without its message, and no job hop in between.

* requestResponse: the task completes in that transaction with ``$local`` =
  ``{"MessageId", "MessageBodyMD5", "RequestId"}``.
* waitForCallback: the task is submitted in that transaction and waits for ReportTaskSucceeded/Failed with
  the token, which the flow puts into the message through its mappings.

serviceParams: ``MessageBody`` (required; an object or list is sent as its JSON text, as ``MessageBody: $``
does in the documents), ``Priority`` and ``DelaySeconds`` (queues), ``MessageTag`` and
``MessageAttributes`` (topics). A send the service refuses (no such queue, priority out of range, body too
large) fails the task with ``MNS.<Code>`` (e.g. ``MNS.QueueNotExist``), which retry and catch can handle.
A body, tag or attribute holding a character XML 1.0 cannot carry (``"\u0001"``) is refused as the service
refuses it: ``MNS.MalformedXML``, the cause naming the character and its position.

The send acts as the flow's execution role (:mod:`tidegate.integrations.roles`): ``mns:SendMessage`` on the
queue's messages (``acs:mns:REGION:ACCOUNT:/queues/Q/messages``), ``mns:PublishMessage`` on the topic's
(``…:/topics/T/messages``); a role that may not fails the task with ``MNS.AccessDenied``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from tidegate.engine import InvokeTask, TaskFailed, TaskSubmitted, TaskSucceeded
from tidegate.errors import QueueError
from tidegate.flow.model import Pattern, ResourceKind
from tidegate.integrations.roles import ACCESS_DENIED, TaskRoles
from tidegate.mq import QueueService, TopicService
from tidegate.mq.wire import MessageRequest
from tidegate.ram import arns
from tidegate.store import EffectOutcome, ExecutionRecord, Store, TxEffect
from tidegate.store.database import Tx


class _BadParams(Exception):
    pass


def message_body(params: dict[str, Any]) -> str:
    """The message body a task sends: strings as they are, anything else as its JSON text."""
    if "MessageBody" not in params:
        raise _BadParams("serviceParams.MessageBody is required")
    body = params["MessageBody"]
    if isinstance(body, str):
        return body
    # json.dumps' default separators: the documents' example body reads {"key_1": "value_1", ...}.
    return json.dumps(body, ensure_ascii=False)


def _int_param(params: dict[str, Any], name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    try:
        if isinstance(value, bool):
            raise ValueError
        return int(value)
    except (TypeError, ValueError):
        raise _BadParams(f"serviceParams.{name} must be an integer, got {value!r}") from None


def _attributes(params: dict[str, Any]) -> dict[str, str]:
    raw = params.get("MessageAttributes") or {}
    if not isinstance(raw, dict):
        raise _BadParams("serviceParams.MessageAttributes must be an object")
    return {str(k): v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for k, v in raw.items()}


def _failed(key: str, error: str, cause: str) -> EffectOutcome:
    return EffectOutcome(event=TaskFailed(task_key=key, error=error, cause=cause).to_dict(), complete_task=key)


class MnsIntegration:
    """Builds the transactional effect of one queue or topic task attempt."""

    def __init__(self, queues: QueueService, topics: TopicService, roles: TaskRoles | None = None) -> None:
        self.queues = queues
        self.topics = topics
        self.roles = roles

    def _denial(self, execution: ExecutionRecord, cmd: InvokeTask) -> str | None:
        if self.roles is None:
            return None
        r, name = self.roles, cmd.resource.name
        if cmd.resource.kind == ResourceKind.QUEUE:
            action, resource = "mns:SendMessage", arns.mns_queue_messages(r.region, r.account_id, name)
        else:
            action, resource = "mns:PublishMessage", arns.mns_topic_messages(r.region, r.account_id, name)
        return r.denial(execution.flow_name, execution.name, action, resource)

    def effect(self, execution: ExecutionRecord, cmd: InvokeTask) -> TxEffect:
        """The effect that sends ``cmd``'s message inside the committing transaction."""
        key = cmd.task_key
        denied = self._denial(execution, cmd)
        if denied is not None:
            refused = _failed(key, f"MNS.{ACCESS_DENIED}", f"{cmd.resource.text}: {denied}")
            return lambda tx: refused
        try:
            if cmd.pattern == Pattern.SYNC:
                raise _BadParams("MNS targets support the requestResponse and waitForCallback patterns")
            body = message_body(cmd.params)
            priority = _int_param(cmd.params, "Priority")
            delay = _int_param(cmd.params, "DelaySeconds")
            tag = cmd.params.get("MessageTag")
            attributes = _attributes(cmd.params)
        except _BadParams as exc:
            outcome = _failed(key, "FnF.InvalidArgument", f"{cmd.resource.text}: {exc}")
            return lambda tx: outcome

        def send(tx: Tx) -> EffectOutcome:
            try:
                if cmd.resource.kind == ResourceKind.QUEUE:
                    mid, md5 = self.queues.send_message_in(tx, cmd.resource.name, body, priority, delay)
                else:
                    request = MessageRequest(body=body, tag=None if tag is None else str(tag), attributes=attributes)
                    result = self.topics.publish_in(tx, cmd.resource.name, request)
                    mid, md5 = result.message_id, result.body_md5
            except QueueError as exc:
                return _failed(key, f"MNS.{exc.code}", f"{cmd.resource.text}: {exc.message}")
            if cmd.pattern == Pattern.WAIT_FOR_CALLBACK:
                return EffectOutcome(event=TaskSubmitted(task_key=key).to_dict())
            local = {"MessageId": mid, "MessageBodyMD5": md5, "RequestId": str(uuid.uuid4())}
            return EffectOutcome(event=TaskSucceeded(task_key=key, output=local).to_dict(), complete_task=key)

        return send


def mns_targets(
    store: Store, *, region: str, account_id: str, roles: TaskRoles | None = None
) -> dict[ResourceKind, Callable[[ExecutionRecord, InvokeTask], TxEffect]]:
    """Queue and topic task targets on the message service of ``store`` (``Runtime(transactional=...)``).

    ``roles``: sends act as their flow's execution role (None: as the account, as under ``tidegate run``).
    """
    db = store.database
    mns = MnsIntegration(QueueService(db), TopicService(db, region, account_id), roles)
    return {ResourceKind.QUEUE: mns.effect, ResourceKind.TOPIC: mns.effect}
