"""What a task message holds (its task token and its payload), and what a handler's result becomes.

The defaults read both source documents' shapes: the queue document's body ``{"task_token": …, "key": …}``
and the topic document's ``{"taskToken": …, "messageBody": …}``, also when that arrives through a topic
subscription to a queue (a JSON or XML notification whose ``Message`` is the published body). The body
may be raw text or base64 (the MNS SDKs' default encoding).
"""

from __future__ import annotations

import base64
import binascii
import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from tidegate.sdk.errors import SdkError, TaskFailed

__all__ = ["BodyEncoding", "InvalidTaskMessage", "Task", "TaskFormat", "current_task", "encode_output", "parse_task"]

#: The longest ``Error`` and ``Cause`` a failure report carries; longer ones are cut (with "…").
MAX_ERROR = 128
MAX_CAUSE = 4096


class InvalidTaskMessage(SdkError):
    """A message from which no task token can be read."""


class BodyEncoding(StrEnum):
    """How message bodies are encoded: ``auto`` tries the raw text, then base64."""

    AUTO = "auto"
    RAW = "raw"
    BASE64 = "base64"


@dataclass(frozen=True, slots=True)
class TaskFormat:
    """Where a message's task token and payload are.

    Attributes:
        token_fields: the body's field (a dotted path for nested objects) holding the token; the first one
            present is used.
        payload_field: the field holding the handler's input; None: the whole body without the token field.
        encoding: how bodies are encoded.
        unwrap_notifications: read a topic notification's ``Message`` (topic → queue subscriptions).
    """

    token_fields: Sequence[str] = ("task_token", "taskToken")
    payload_field: str | None = None
    encoding: BodyEncoding = BodyEncoding.AUTO
    unwrap_notifications: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.token_fields, str):
            object.__setattr__(self, "token_fields", (self.token_fields,))
        if not self.token_fields or not all(self.token_fields):
            raise ValueError("token_fields must name at least one field")


@dataclass(frozen=True, slots=True)
class Task:
    """The task a message carries: what a handler can learn of it through :func:`current_task`."""

    token: str = field(repr=False)
    input: Any
    message_id: str
    dequeue_count: int
    body: str = field(repr=False)


_CURRENT: ContextVar[Task] = ContextVar("tidegate_sdk_task")


def current_task() -> Task:
    """The task the calling handler runs (token, message id, dequeue count).

    Raises:
        LookupError: not called from a handler.
    """
    return _CURRENT.get()


def _decode_json(text: str, encoding: BodyEncoding) -> Any:
    if encoding is not BodyEncoding.BASE64:
        stripped = text.lstrip()
        if stripped[:1] in ("{", "<") or encoding is BodyEncoding.RAW:
            try:
                return _json_or_xml(stripped)
            except ValueError:
                if encoding is BodyEncoding.RAW:
                    raise
    try:
        raw = base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise ValueError("the body is neither a JSON object nor base64 of one") from None
    return _json_or_xml(raw.lstrip())


def _json_or_xml(text: str) -> Any:
    if text.startswith("<"):
        try:
            root = ET.fromstring(text)
        except ET.ParseError as exc:
            raise ValueError(f"the body is not XML: {exc}") from None
        return {c.tag.rsplit("}", 1)[-1]: c.text or "" for c in root}
    return json.loads(text)


def _is_notification(doc: dict[str, Any]) -> bool:
    return "Message" in doc and "TopicName" in doc and "MessageId" in doc


def _get(doc: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(doc, dict) or part not in doc:
            return None
        doc = doc[part]
    return doc


def _without(doc: dict[str, Any], path: str) -> dict[str, Any]:
    head, _, rest = path.partition(".")
    out = dict(doc)
    if not rest:
        out.pop(head, None)
    elif isinstance(out.get(head), dict):
        out[head] = _without(out[head], rest)
    return out


def parse_task(body: str, fmt: TaskFormat, message_id: str = "", dequeue_count: int = 0) -> Task:
    """Read the token and payload of a message body.

    Raises:
        InvalidTaskMessage: the body is not a JSON object (or notification of one), or holds no token.
    """
    try:
        doc = _decode_json(body, fmt.encoding)
        if fmt.unwrap_notifications and isinstance(doc, dict) and _is_notification(doc):
            doc = _decode_json(str(doc["Message"]), fmt.encoding)
    except ValueError as exc:
        raise InvalidTaskMessage(f"message {message_id}: {exc}") from None
    if not isinstance(doc, dict):
        raise InvalidTaskMessage(f"message {message_id}: the body is not a JSON object")
    for name in fmt.token_fields:
        token = _get(doc, name)
        if isinstance(token, str) and token:
            break
    else:
        raise InvalidTaskMessage(f"message {message_id}: no task token in the fields {', '.join(fmt.token_fields)}")
    payload = _get(doc, fmt.payload_field) if fmt.payload_field else _without(doc, name)
    return Task(token=token, input=payload, message_id=message_id, dequeue_count=dequeue_count, body=body)


def encode_output(value: Any) -> str:
    """The ``Output`` of a success report: None → ``{}``; text and bytes as they are (JSON); else JSON.

    Raises:
        TypeError: the value cannot be written as JSON.
    """
    if value is None:
        return "{}"
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def cut(text: str, limit: int) -> str:
    """``text``, cut to ``limit`` characters (the last one "…") when longer."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def failure_of(exc: BaseException) -> tuple[str, str]:
    """The ``(Error, Cause)`` of a failure report for an exception raised by a handler."""
    if isinstance(exc, TaskFailed):
        return cut(exc.error, MAX_ERROR), cut(exc.cause, MAX_CAUSE)
    return cut(type(exc).__name__, MAX_ERROR), cut(str(exc), MAX_CAUSE)
