"""A small asynchronous client of the Serverless Workflow RPC API (2019-03-15): task reports and any action.

Requests are signed with the RPC v1.0 signature and laid out as aliyunsdkcore lays them out: common
parameters and the task token in the query, the rest in a form body.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from tidegate.sdk._http import Transport
from tidegate.sdk._sign import form, rpc_signature, rpc_timestamp
from tidegate.sdk.config import ClientConfig
from tidegate.sdk.errors import UNKNOWN_ACTION_CODES, ServiceError

__all__ = ["API_VERSION", "FnfClient"]

API_VERSION = "2019-03-15"
_FORM = "application/x-www-form-urlencoded"


class FnfClient:
    """Calls actions of one Serverless Workflow endpoint.

    Args:
        http: the shared transport.
        config: endpoint, region and credentials.
    """

    def __init__(self, http: Transport, config: ClientConfig) -> None:
        self._http = http
        self._config = config
        self._url = config.fnf_endpoint + "/"
        #: False once the service answered that it has no ReportTaskHeartbeat (Alibaba Cloud has none).
        self.heartbeat_supported = True

    async def call(
        self, action: str, query: Mapping[str, str] | None = None, body: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """Call ``action`` with parameters in the query and in a form body; return the JSON answer.

        Raises:
            ServiceError: the service answered with an error (its ``Code``).
            httpx.HTTPError: it could not be reached.
        """
        cred = self._config.current_credentials()
        params = {
            "Action": action,
            "Version": API_VERSION,
            "Format": "JSON",
            "RegionId": self._config.region,
            "Timestamp": rpc_timestamp(),
            "SignatureMethod": "HMAC-SHA1",
            "SignatureVersion": "1.0",
            "SignatureNonce": uuid.uuid4().hex,
            "AccessKeyId": cred.access_key_id,
            **(query or {}),
        }
        if cred.security_token:
            params["SecurityToken"] = cred.security_token
        signed = {**params, **(body or {})}
        params["Signature"] = rpc_signature(cred.access_key_secret, "POST", signed)
        content = form(body).encode() if body else b""
        headers = {"content-type": _FORM} if body else None
        resp = await self._http.request("POST", f"{self._url}?{form(params)}", content, headers)
        try:
            doc = json.loads(resp.content) if resp.content else {}
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            raise ServiceError(resp.status_code, f"HTTP{resp.status_code}", " ".join(resp.text.split())[:200])
        if resp.status_code >= 300:
            raise ServiceError(
                resp.status_code,
                str(doc.get("Code", "Unknown")),
                str(doc.get("Message", "")),
                str(doc.get("RequestId", "")),
            )
        return doc

    async def report_succeeded(self, token: str, output: str) -> None:
        """ReportTaskSucceeded with the task's output (JSON text)."""
        await self.call("ReportTaskSucceeded", {"TaskToken": token}, {"Output": output})

    async def report_failed(self, token: str, error: str, cause: str) -> None:
        """ReportTaskFailed with an error name and a cause."""
        await self.call("ReportTaskFailed", {"TaskToken": token}, {"Error": error, "Cause": cause})

    async def heartbeat(self, token: str) -> bool:
        """ReportTaskHeartbeat, where the service has it; returns whether it was sent.

        The first answer that the action does not exist turns it off for this client.
        """
        if not self.heartbeat_supported:
            return False
        try:
            await self.call("ReportTaskHeartbeat", {"TaskToken": token})
        except ServiceError as exc:
            if exc.code in UNKNOWN_ACTION_CODES:
                self.heartbeat_supported = False
                return False
            raise
        return True
