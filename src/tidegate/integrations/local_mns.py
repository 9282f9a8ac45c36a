"""Queue and topic task steps answered in this process, for ``tidegate run`` (no message service).

Instead of sending, the step's message is built exactly as :mod:`tidegate.integrations.mns` builds it (the
same ``serviceParams`` checks, the same body) and handed to the ``on_send`` observer; then the task is
answered by step name:

* a **reply** given up front (``--respond STEP=JSON`` or a responses file): a JSON object is the callback's
  output, ``{"error": E, "cause": C}`` a failure. A list of replies answers successive attempts (retries).
* a **worker**: a :mod:`tidegate.sdk` handler called in process with the task as a real
  :class:`tidegate.sdk.Worker` presents it (:func:`tidegate.sdk.parse_task` of the body, ``current_task()``
  set); its return value, :class:`tidegate.sdk.TaskFailed` or exception becomes the report.

A requestResponse step needs no answer: it succeeds with the documented ``$local`` of a send
(``{MessageId, MessageBodyMD5, RequestId}``); a failure reply makes its send fail instead. A waitForCallback
step with no answer fails with ``FnF.IntegrationUnavailable`` naming the options that give one.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tidegate.errors import ConfigurationError, QueueError
from tidegate.flow.model import Flow, Pattern, ResourceKind, TaskStep
from tidegate.integrations.base import UNAVAILABLE, Outcome, TaskJob, failed, succeeded
from tidegate.integrations.mns import _attributes, _BadParams, _int_param, message_body
from tidegate.jsontext import JsonTextError
from tidegate.jsontext import parse as parse_json
from tidegate.mq.wire import MessageRequest
from tidegate.mq.wire_requests import check_message_text
from tidegate.mq.wire_xml import body_md5
from tidegate.names import MAX_CAUSE_LENGTH, MAX_ERROR_LENGTH
from tidegate.sdk import InvalidTaskMessage, Task, TaskFormat, parse_task
from tidegate.sdk.task import _CURRENT, encode_output, failure_of
from tidegate.sdk.worker import OUTPUT_REJECTED

__all__ = [
    "Failure",
    "LocalMns",
    "LocalWorker",
    "Output",
    "Reply",
    "SentMessage",
    "message_steps",
    "parse_reply",
    "reply_list",
]

#: The largest message body a queue or topic accepts (MNS's MaximumMessageSize can be at most this).
MAX_BODY_BYTES = 65536
#: The error of a worker handler's message that holds no task token (a real Worker leaves it in the queue).
INVALID_TASK_MESSAGE = "InvalidTaskMessage"
_MESSAGE_KINDS = (ResourceKind.QUEUE, ResourceKind.TOPIC)


@dataclass(frozen=True, slots=True)
class Output:
    """A callback's output (``ReportTaskSucceeded``): a JSON object."""

    value: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Failure:
    """A callback's failure (``ReportTaskFailed``), or for a requestResponse step a refused send."""

    error: str
    cause: str = ""


Reply = Output | Failure


def parse_reply(value: Any, where: str) -> Reply:
    """Read one reply: a JSON object is an output; ``{"error": E, "cause": C}`` (cause optional) a failure.

    Raises:
        ConfigurationError: not an object, or a failure with other fields or a bad error or cause.
    """
    if not isinstance(value, dict):
        raise ConfigurationError(f"{where}: a reply must be a JSON object, not {_kind(value)}")
    if "error" not in value:
        return Output(value)
    extra = sorted(set(value) - {"error", "cause"})
    if extra:
        raise ConfigurationError(
            f"{where}: a failure holds only error and cause, not {', '.join(extra)} "
            "(an output with an error field can be given by a --worker handler)"
        )
    error, cause = value["error"], value.get("cause", "")
    if not isinstance(error, str) or not 1 <= len(error) <= MAX_ERROR_LENGTH:
        raise ConfigurationError(f"{where}: error must be a string of 1 to {MAX_ERROR_LENGTH} characters")
    if not isinstance(cause, str) or len(cause) > MAX_CAUSE_LENGTH:
        raise ConfigurationError(f"{where}: cause must be a string of at most {MAX_CAUSE_LENGTH} characters")
    return Failure(error, cause)


def _kind(value: Any) -> str:
    return {list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(type(value), "a number")


def message_steps(flow: Flow) -> dict[str, set[Pattern]]:
    """The task steps of ``flow`` (in every branch, iteration and catch) that send to a queue or topic,
    by name, with their patterns."""
    steps: dict[str, set[Pattern]] = {}
    for step in flow.steps_by_path.values():
        if isinstance(step, TaskStep) and step.resource.kind in _MESSAGE_KINDS:
            steps.setdefault(step.name, set()).add(step.pattern)
    return steps


@dataclass(frozen=True, slots=True)
class SentMessage:
    """A message a step would have sent (what ``on_send`` sees)."""

    step_name: str
    attempt: int
    resource: str
    pattern: Pattern
    body: str


@dataclass(frozen=True, slots=True)
class LocalWorker:
    """A worker handler run in process; ``label`` names it in the history (``module:function``)."""

    handler: Callable[[Any], Any]
    label: str
    task_format: TaskFormat = field(default_factory=TaskFormat)


class LocalMns:
    """Answers queue and topic task attempts in process (thread-safe: it keeps no state of its own).

    Args:
        replies: per step name, the replies of its successive attempts.
        reply_sources: per step name, the option its replies came from (named in errors).
        workers: per step name, the worker that answers it (before ``default_worker``).
        default_worker: the worker of every other waitForCallback step.
        on_send: called with every message a step builds, before it is answered.
    """

    def __init__(
        self,
        replies: Mapping[str, Sequence[Reply]] | None = None,
        *,
        reply_sources: Mapping[str, str] | None = None,
        workers: Mapping[str, LocalWorker] | None = None,
        default_worker: LocalWorker | None = None,
        on_send: Callable[[SentMessage], None] | None = None,
    ) -> None:
        self.replies = dict(replies or {})
        self.reply_sources = dict(reply_sources or {})
        self.workers = dict(workers or {})
        self.default_worker = default_worker
        self.on_send = on_send

    def run(self, job: TaskJob) -> Outcome:
        cmd = job.command
        where = cmd.resource.text
        try:
            if cmd.pattern == Pattern.SYNC:
                raise _BadParams("MNS targets support the requestResponse and waitForCallback patterns")
            body = message_body(cmd.params)
            priority = _int_param(cmd.params, "Priority")
            delay = _int_param(cmd.params, "DelaySeconds")
            attributes = _attributes(cmd.params)
        except _BadParams as exc:
            return failed(job, "FnF.InvalidArgument", f"{where}: {exc}")
        tag = cmd.params.get("MessageTag")
        refused = _send_problem(cmd.resource.kind, body, priority, delay, tag, attributes)
        if refused is not None:
            return failed(job, refused[0], f"{where}: {refused[1]}")
        if self.on_send is not None:
            self.on_send(SentMessage(cmd.step_name, cmd.attempt, where, cmd.pattern, body))
        detail: dict[str, Any] = {"messageBody": body}
        reply = self._reply(job)
        if isinstance(reply, str):  # why there is none
            return failed(job, UNAVAILABLE, f"{where}: {reply}", detail)
        if reply is not None:
            detail["answer"] = self.reply_sources.get(cmd.step_name, "--respond")
            if isinstance(reply, Failure):
                return failed(job, reply.error, reply.cause, detail)
            return succeeded(job, reply.value, detail)
        if cmd.pattern == Pattern.REQUEST_RESPONSE:
            mid, request_id = uuid.uuid4().hex.upper(), str(uuid.uuid4())
            local = {"MessageId": mid, "MessageBodyMD5": body_md5(body), "RequestId": request_id}
            return succeeded(job, local, detail)
        worker = self.workers.get(cmd.step_name) or self.default_worker
        if worker is None:
            name = cmd.step_name
            why = (
                f"step {name} has no local answer: give one with --respond {name}=JSON, "
                "--responses FILE or --worker module:function"
            )
            return failed(job, UNAVAILABLE, f"{where}: {why}", detail)
        detail["answer"] = f"--worker {worker.label}"
        return _run_worker(job, worker, body, detail)

    def _reply(self, job: TaskJob) -> Reply | str | None:
        """The reply given for this attempt, None when none is, or why the given ones do not reach it."""
        cmd = job.command
        replies = self.replies.get(cmd.step_name)
        if not replies:
            return None
        if cmd.attempt > len(replies):
            source = self.reply_sources.get(cmd.step_name, "--respond")
            return f"step {cmd.step_name} attempt {cmd.attempt}: {source} gives {len(replies)} answer(s) for it"
        return replies[cmd.attempt - 1]


def _send_problem(
    kind: ResourceKind, body: str, priority: int | None, delay: int | None, tag: Any, attributes: dict[str, str]
) -> tuple[str, str] | None:
    """``(error, cause)`` when the message service would refuse the send (as ``MNS.<Code>``), else None."""
    size = len(body.encode("utf-8"))
    if size > MAX_BODY_BYTES:
        return "MNS.InvalidArgument", f"the message body is {size} bytes, more than {MAX_BODY_BYTES}"
    if kind == ResourceKind.QUEUE:
        if priority is not None and not 1 <= priority <= 16:
            return "MNS.InvalidArgument", "The value of Priority should between 1 and 16."
        if delay is not None and not 0 <= delay <= 604800:
            return "MNS.InvalidArgument", "The value of DelaySeconds should between 0 and 604800."
    request = MessageRequest(
        body=body,
        tag=None if tag is None or kind == ResourceKind.QUEUE else str(tag),
        attributes=attributes if kind == ResourceKind.TOPIC else {},
    )
    try:
        check_message_text(request)
    except QueueError as exc:
        return f"MNS.{exc.code}", exc.message
    return None


def _run_worker(job: TaskJob, worker: LocalWorker, body: str, detail: dict[str, Any]) -> Outcome:
    """Call the handler as a :class:`tidegate.sdk.Worker` would and turn what it did into the task's end."""
    message_id = uuid.uuid4().hex.upper()
    try:
        task = parse_task(body, worker.task_format, message_id, dequeue_count=job.command.attempt)
    except InvalidTaskMessage as exc:
        cause = f"{job.command.resource.text}: {exc} (a real worker leaves such a message in the queue)"
        return failed(job, INVALID_TASK_MESSAGE, cause, detail)
    try:
        output = encode_output(contextvars.copy_context().run(_call, worker.handler, task))
    except Exception as exc:  # the handler's failure is the task's, as a Worker reports it
        error, cause = failure_of(exc)
        return failed(job, error, cause, detail)
    try:
        value = parse_json(output, "the task output")
    except JsonTextError as exc:
        return failed(job, OUTPUT_REJECTED, f"InvalidArgument: {exc.message}", detail)
    if not isinstance(value, dict):
        cause = f"InvalidArgument: The task output must be a JSON object, not {_kind(value).split()[-1]}."
        return failed(job, OUTPUT_REJECTED, cause, detail)
    return succeeded(job, value, detail)


def _call(handler: Callable[[Any], Any], task: Task) -> Any:
    _CURRENT.set(task)
    result = handler(task.input)
    if inspect.isawaitable(result):
        return asyncio.run(_awaited(result))
    return result


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def reply_list(value: Any, where: str) -> list[Reply]:
    """One reply or a list of them (successive attempts), read with :func:`parse_reply`."""
    if isinstance(value, list):
        if not value:
            raise ConfigurationError(f"{where}: the list of replies is empty")
        return [parse_reply(v, f"{where}[{i}]") for i, v in enumerate(value)]
    return [parse_reply(value, where)]
