"""A small signed MNS client (what ``tidegate queue`` / ``tidegate topic`` use): requests as the SDKs send them.

Bodies are built with the wire encoders and responses parsed with the wire parser; only the elements the
CLI prints are read.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import quote

import httpx

from tidegate.auth.signatures import format_http_date, mns_authorization
from tidegate.errors import QueueError
from tidegate.mq.wire_xml import Element, MalformedXML, parse_xml

REQUEST_CONTENT_TYPE = "text/xml;charset=UTF-8"


class MnsClientError(QueueError):
    """The server answered with an MNS error."""

    def __init__(self, status: int, code: str, message: str, request_id: str = "") -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.status = status
        self.error_code = code
        self.request_id = request_id


@dataclass(frozen=True, slots=True)
class MnsResponse:
    """A successful answer."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def xml(self) -> Element:
        """Parse the body."""
        return parse_xml(self.body)


def fields(el: Element) -> dict[str, str]:
    """Return ``{child tag: text}`` of an element's leaf children."""
    return {c.tag: c.text for c in el.children if not c.children}


class MnsClient:
    """Signs and sends MNS requests (docs/protocols.md, MNS: signature) to one endpoint.

    Args:
        endpoint: ``http://host:port``.
        access_key_id: the AccessKey ID.
        access_key_secret: its secret.
        timeout: socket timeout in seconds (long polls last up to 30 s).
    """

    def __init__(self, endpoint: str, access_key_id: str, access_key_secret: str, timeout: float = 60.0) -> None:
        self.endpoint = endpoint.rstrip("/")
        self._id = access_key_id
        self._secret = access_key_secret
        self._http = httpx.Client(timeout=timeout)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def request(
        self,
        method: str,
        path: str,
        query: str = "",
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
    ) -> MnsResponse:
        """Send one signed request; ``path`` segments must already be URL-safe.

        Raises:
            MnsClientError: the server answered 4xx/5xx (its ``<Error>`` code and message).
        """
        target = path + (f"?{query}" if query else "")
        h: dict[str, str] = {"x-mns-version": "2015-06-06", "date": format_http_date(time.time())}
        if body:
            h["content-type"] = REQUEST_CONTENT_TYPE
            # The SDKs' form: base64 of the hex digest (docs/protocols.md).
            h["content-md5"] = base64.b64encode(hashlib.md5(body).hexdigest().encode()).decode()
        h.update(headers or {})
        h["authorization"] = mns_authorization(self._id, self._secret, method, target, h)
        # httpx would re-encode a query given as params; the raw target is what was signed.
        resp = self._http.request(method, self.endpoint + target, content=body, headers=h)
        if resp.status_code >= 400:
            code, message, rid = "UnknownError", resp.text[:200], ""
            try:
                err = fields(parse_xml(resp.content))
                code, message, rid = err.get("Code", code), err.get("Message", ""), err.get("RequestId", "")
            except MalformedXML:
                pass
            raise MnsClientError(resp.status_code, code, message, rid)
        return MnsResponse(resp.status_code, dict(resp.headers), resp.content)

    def list_names(self, path: str, item: str, prefix: str = "") -> Iterator[str]:
        """Every name of a listing (``/queues`` → ``Queue``, ``/topics`` → ``Topic``), following NextMarker.

        Names are the last segment of each item's ``<item>URL``.
        """
        marker = ""
        while True:
            headers = {"x-mns-prefix": prefix, "x-mns-ret-number": "1000", "x-mns-marker": marker}
            root = self.request("GET", path, headers={k: v for k, v in headers.items() if v}).xml()
            for el in root.all(item):
                yield fields(el)[f"{item}URL"].rsplit("/", 1)[-1]
            nxt = root.child("NextMarker")
            if nxt is None:
                return
            marker = nxt.text


def seg(name: str) -> str:
    """Quote a queue / topic / subscription name for a path."""
    return quote(name, safe="-")
