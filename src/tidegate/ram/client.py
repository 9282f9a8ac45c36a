"""A small signed client of the RAM API (``Version=2015-05-01``, RPC style): what ``tidegate ram`` and the
deploy file's ``ram:`` section use. Requests are signed as the official SDKs sign them (RPC signature 1.0,
HMAC-SHA1), so it works against any tidegate server the key is valid for.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from typing import Any

import httpx

from tidegate.auth.signatures import sign_rpc
from tidegate.errors import TidegateError

__all__ = ["RAM_API_VERSION", "RamClient", "RamClientError", "dumps_document", "items", "trust_document"]

RAM_API_VERSION = "2015-05-01"


class RamClientError(TidegateError):
    """The server answered a RAM request with an error (``Code: message``)."""

    code = "RamClientError"

    def __init__(self, status: int, code: str, message: str, request_id: str = "") -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.status = status
        self.error_code = code
        self.request_id = request_id


class RamClient:
    """Signs and sends RAM API requests to one endpoint.

    Args:
        endpoint: ``http://host:port``.
        access_key_id: the AccessKey ID.
        access_key_secret: its secret.
        timeout: seconds per request.
    """

    def __init__(self, endpoint: str, access_key_id: str, access_key_secret: str, timeout: float = 30.0) -> None:
        self.endpoint = endpoint.rstrip("/")
        self._id = access_key_id
        self._secret = access_key_secret
        self._http = httpx.Client(timeout=timeout)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> RamClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, action: str, params: Mapping[str, str | int | bool | None] | None = None) -> dict[str, Any]:
        """Call ``action`` with ``params`` (None values are left out); return the answer's JSON object.

        Raises:
            RamClientError: the server answered with an error.
            httpx.HTTPError: the server could not be reached.
        """
        form: dict[str, str] = {
            "Action": action,
            "Version": RAM_API_VERSION,
            "Format": "JSON",
            "AccessKeyId": self._id,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureVersion": "1.0",
            "SignatureNonce": secrets.token_hex(16),
            "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        for name, value in (params or {}).items():
            if value is not None:
                form[name] = str(value).lower() if isinstance(value, bool) else str(value)
        form["Signature"] = sign_rpc(self._secret, "POST", form)
        resp = self._http.post(self.endpoint + "/", data=form)
        try:
            doc = resp.json()
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            text = " ".join(resp.text.split())[:200]
            raise RamClientError(resp.status_code, f"HTTP {resp.status_code}", f"the answer is not JSON: {text}")
        if resp.status_code >= 400:
            raise RamClientError(
                resp.status_code, str(doc.get("Code")), str(doc.get("Message") or ""), str(doc.get("RequestId", ""))
            )
        return doc


def items(doc: Mapping[str, Any], outer: str, inner: str) -> list[dict[str, Any]]:
    """The list RAM wraps twice (``{"Users": {"User": [...]}}``); [] when absent."""
    wrapped = doc.get(outer) or {}
    found = wrapped.get(inner) if isinstance(wrapped, Mapping) else None
    return list(found) if isinstance(found, list) else []


def dumps_document(value: Any) -> str:
    """A policy document given as a mapping, as the compact JSON text RAM takes."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def trust_document(services: tuple[str, ...] = (), accounts: tuple[str, ...] = ()) -> str:
    """A role's trust policy letting ``services`` (``fnf.aliyuncs.com``) and ``accounts`` assume it.

    An account is an account ID (its root, and through it the users it allows) or a RAM ARN, kept as is.
    """
    principal: dict[str, list[str]] = {}
    if services:
        principal["Service"] = list(services)
    if accounts:
        principal["RAM"] = [a if a.startswith("acs:") else f"acs:ram::{a}:root" for a in accounts]
    statement = {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": principal}
    return dumps_document({"Statement": [statement], "Version": "1"})
