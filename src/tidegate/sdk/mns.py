"""A small asynchronous MNS queue client: batch receive with long polling, batch delete, visibility changes.

Requests are signed as the official SDKs sign them and go through the SDK's transport (kept-alive
connections). Answers are parsed with the standard library's expat parser; only the elements a worker
reads are kept.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

import httpx

from tidegate.sdk._http import Transport
from tidegate.sdk._sign import content_md5, http_date, mns_signature
from tidegate.sdk.config import ClientConfig
from tidegate.sdk.errors import ServiceError

__all__ = ["MAX_BATCH", "MAX_WAIT_S", "DeleteFailure", "Message", "MnsQueue"]

#: The most messages one receive returns and one batch delete takes.
MAX_BATCH = 16
#: The longest long poll MNS allows (seconds).
MAX_WAIT_S = 30
_NS = "{http://mns.aliyuncs.com/doc/v1/}"
_XML_TYPE = "text/xml;charset=UTF-8"
_DECL = '<?xml version="1.0" encoding="UTF-8"?>'


@dataclass(frozen=True, slots=True)
class Message:
    """A received message."""

    message_id: str
    receipt_handle: str
    body: str
    dequeue_count: int
    enqueue_time_ms: int
    next_visible_time_ms: int


@dataclass(frozen=True, slots=True)
class DeleteFailure:
    """One handle a batch delete refused (usually ``ReceiptHandleError``: the message became visible again)."""

    receipt_handle: str
    code: str
    message: str


def _local(tag: str) -> str:
    return tag[len(_NS) :] if tag.startswith(_NS) else tag


def _fields(el: ET.Element) -> dict[str, str]:
    return {_local(c.tag): c.text or "" for c in el}


def _parse(body: bytes, status: int) -> ET.Element:
    try:
        return ET.fromstring(body)
    except ET.ParseError as exc:
        raise ServiceError(status, "MalformedResponse", f"the answer is not XML: {exc}") from None


def _error(resp: httpx.Response) -> ServiceError:
    try:
        err = _fields(ET.fromstring(resp.content))
    except ET.ParseError:
        return ServiceError(resp.status_code, f"HTTP{resp.status_code}", " ".join(resp.text.split())[:200])
    return ServiceError(resp.status_code, err.get("Code", "Unknown"), err.get("Message", ""), err.get("RequestId", ""))


def _message(f: dict[str, str]) -> Message:
    return Message(
        message_id=f.get("MessageId", ""),
        receipt_handle=f.get("ReceiptHandle", ""),
        body=f.get("MessageBody", ""),
        dequeue_count=int(f.get("DequeueCount") or 0),
        enqueue_time_ms=int(f.get("EnqueueTime") or 0),
        next_visible_time_ms=int(f.get("NextVisibleTime") or 0),
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class MnsQueue:
    """One queue of an MNS endpoint.

    Args:
        http: the shared transport.
        config: endpoint and credentials.
        queue: the queue's name.
    """

    def __init__(self, http: Transport, config: ClientConfig, queue: str) -> None:
        self._http = http
        self._config = config
        self.name = queue
        self._path = f"/queues/{quote(queue, safe='-')}"
        self._base = config.mns_endpoint

    async def _request(
        self, method: str, target: str, body: bytes = b"", timeout: float | None = None, allow: int = 0
    ) -> httpx.Response:
        cred = self._config.current_credentials()
        h = {"x-mns-version": "2015-06-06", "date": http_date()}
        if body:
            h["content-type"] = _XML_TYPE
            h["content-md5"] = content_md5(body)
        h["authorization"] = f"MNS {cred.access_key_id}:{mns_signature(cred.access_key_secret, method, target, h)}"
        if cred.security_token:
            h["security-token"] = cred.security_token
        url = self._base + target
        resp = await self._http.request(method, url, body, h, timeout)
        if resp.status_code >= 400 and resp.status_code != allow:
            raise _error(resp)
        return resp

    async def receive(self, max_messages: int, wait_seconds: int) -> list[Message]:
        """Receive up to ``max_messages`` (1 to 16), long-polling up to ``wait_seconds`` (0 to 30).

        Returns:
            The messages; an empty list when none arrived in time.

        Raises:
            ServiceError: the service refused (``QueueNotExist``, keys…).
            httpx.HTTPError: the service could not be reached.
        """
        n = max(1, min(MAX_BATCH, max_messages))
        wait = max(0, min(MAX_WAIT_S, wait_seconds))
        target = f"{self._path}/messages?numOfMessages={n}&waitseconds={wait}"
        try:
            resp = await self._request("GET", target, timeout=wait + 30.0)
        except ServiceError as exc:
            if exc.code == "MessageNotExist":
                return []
            raise
        root = _parse(resp.content, resp.status_code)
        if _local(root.tag) == "Message":
            return [_message(_fields(root))]
        return [_message(_fields(el)) for el in root]

    async def delete(self, handles: Sequence[str]) -> list[DeleteFailure]:
        """Delete received messages by their handles (one request for up to 16).

        Returns:
            The handles the service refused (stale ones: the message was received again meanwhile).
        """
        if not handles:
            return []
        if len(handles) == 1:
            try:
                await self._request("DELETE", f"{self._path}/messages?ReceiptHandle={handles[0]}")
            except ServiceError as exc:
                if exc.status >= 500 or exc.retryable:
                    raise
                return [DeleteFailure(handles[0], exc.code, exc.message)]
            return []
        out: list[DeleteFailure] = []
        for i in range(0, len(handles), MAX_BATCH):
            part = handles[i : i + MAX_BATCH]
            items = "".join(f"<ReceiptHandle>{_escape(h)}</ReceiptHandle>" for h in part)
            body = f'{_DECL}<ReceiptHandles xmlns="{_NS[1:-1]}">{items}</ReceiptHandles>'.encode()
            resp = await self._request("DELETE", f"{self._path}/messages", body, allow=404)
            if resp.status_code == 404:  # a partly failed batch: <Errors>; a missing queue: <Error>
                root = _parse(resp.content, resp.status_code)
                if _local(root.tag) != "Errors":
                    raise _error(resp)
                for el in root:
                    f = _fields(el)
                    out.append(
                        DeleteFailure(f.get("ReceiptHandle", ""), f.get("ErrorCode", ""), f.get("ErrorMessage", ""))
                    )
        return out

    async def change_visibility(self, receipt_handle: str, seconds: int) -> str:
        """Make a received message invisible for ``seconds`` from now (0: visible now); return its new handle."""
        target = f"{self._path}/messages?ReceiptHandle={receipt_handle}&VisibilityTimeout={int(seconds)}"
        resp = await self._request("PUT", target)
        return _fields(_parse(resp.content, resp.status_code)).get("ReceiptHandle", receipt_handle)

    async def visibility_timeout(self) -> int:
        """The queue's VisibilityTimeout attribute (GetQueueAttributes), in seconds."""
        resp = await self._request("GET", self._path)
        return int(_fields(_parse(resp.content, resp.status_code)).get("VisibilityTimeout") or 30)
