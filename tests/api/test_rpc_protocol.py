"""The RPC protocol edges, with hand-signed requests (httpx): to the app in this process, and on the wire to a
real server where the raw request line matters."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

from tests.server import ServerProcess, raw_request
from tidegate.api.proxy import origin_form
from tidegate.api.rpc_auth import NonceCache
from tidegate.api.rpc_errors import rpc_error
from tidegate.auth.errors import InvalidTaskToken
from tidegate.auth.signatures import sign_rpc
from tidegate.runtime.service import InvalidArgument
from tidegate.store import ExecutionAlreadyExists, FlowNotFound


def signed(params: dict[str, str], method: str = "GET", secret: str = "testAccessKeySecret") -> dict[str, str]:
    """Add the common parameters and the signature."""
    full = {
        "Version": "2019-03-15",
        "Format": "JSON",
        "AccessKeyId": "testAccessKeyId",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": uuid.uuid4().hex,
        "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **params,
    }
    full = {k: v for k, v in full.items() if v is not None}
    full["Signature"] = sign_rpc(secret, method, full)
    return full


def get(client: httpx.Client, params: dict[str, Any]) -> httpx.Response:
    return client.get("/", params=signed(params))


def test_healthz(app_client: httpx.Client) -> None:
    r = app_client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_error_body_shape_and_request_id(app_client: httpx.Client) -> None:
    r = get(app_client, {"Action": "DescribeFlow", "Name": "nope_nope", "RequestId": "my-request-1"})
    assert r.status_code == 404
    body = r.json()
    assert body == {
        "RequestId": "my-request-1",
        "HostId": "cn-hangzhou.fnf.aliyuncs.com",
        "Code": "FlowNotExists",
        "Message": "Flow 'nope_nope' does not exist",
    }
    assert r.headers["x-acs-request-id"] == "my-request-1"
    assert r.headers["content-type"].startswith("application/json")


def test_action_version_and_missing_params(app_client: httpx.Client) -> None:
    unknown = get(app_client, {"Action": "DoMagic"})
    version = get(app_client, {"Action": "ListFlows", "Version": "2020-01-01"})
    no_action = get(app_client, {})
    no_param = get(app_client, {"Action": "DescribeFlow"})
    unsigned = app_client.get("/", params={"Action": "ListFlows", "Version": "2019-03-15"})
    bad_limit = get(app_client, {"Action": "ListFlows", "Limit": "abc"})
    bad_status = get(app_client, {"Action": "ListExecutions", "FlowName": "f", "Status": "Sleeping"})
    assert (unknown.status_code, unknown.json()["Code"]) == (400, "ActionNotSupported")
    assert "'DoMagic'" in unknown.json()["Message"]
    assert (version.status_code, version.json()["Code"]) == (400, "APIVersionNotSupported")
    assert (no_action.status_code, no_action.json()["Code"]) == (400, "MissingRequiredParams")
    assert (no_param.status_code, no_param.json()["Code"]) == (400, "MissingRequiredParams")
    assert "'Name'" in no_param.json()["Message"]
    assert (unsigned.status_code, unsigned.json()["Code"]) == (400, "MissingRequiredParams")
    assert (bad_limit.status_code, bad_limit.json()["Code"]) == (400, "InvalidArgument")
    assert (bad_status.status_code, bad_status.json()["Code"]) == (400, "InvalidArgument")


def test_post_form_body_and_entity_too_large(app_client: httpx.Client) -> None:
    params = signed({"Action": "ListFlows", "Limit": "5"}, method="POST")
    ok = app_client.post("/", data=params)
    big = app_client.post("/", content=b"x" * (1024 * 1024 + 1))
    assert ok.status_code == 200 and "Flows" in ok.json()
    assert (big.status_code, big.json()["Code"]) == (400, "EntityTooLarge")


def test_absolute_form_target_on_the_wire(server: ServerProcess) -> None:
    query = str(httpx.QueryParams(signed({"Action": "ListFlows"})))
    request = (
        f"GET http://cn-hangzhou.fnf.aliyuncs.com/?{query} HTTP/1.1\r\n"
        "Host: cn-hangzhou.fnf.aliyuncs.com\r\nConnection: close\r\n\r\n"
    ).encode()
    data = raw_request(server.port, request)
    assert data.startswith(b"HTTP/1.1 200"), data[:200]
    assert b'"Flows"' in data


def test_origin_form() -> None:
    assert origin_form("http://cn-hangzhou.fnf.aliyuncs.com/") == "/"
    assert origin_form("https://h:443/a/b") == "/a/b"
    assert origin_form("http://h") == "/"
    assert origin_form("/x") == "/x"


def test_nonce_cache_window_and_cap() -> None:
    cache = NonceCache(ttl_s=10, max_entries=3)
    assert cache.use("ak", "n1", now=0) and not cache.use("ak", "n1", now=5)
    assert cache.use("other", "n1", now=5)  # nonces are per AccessKey
    assert cache.use("ak", "n1", now=10.5)  # expired after the window
    for i in range(5):
        assert cache.use("ak", f"m{i}", now=11)
    assert cache.use("ak", "m0", now=11)  # evicted by the cap, so accepted again


def test_error_mapping() -> None:
    assert rpc_error(FlowNotFound("x"))[:2] == (404, "FlowNotExists")
    assert rpc_error(ExecutionAlreadyExists("x"))[:2] == (400, "ExecutionAlreadyExists")
    assert rpc_error(InvalidTaskToken("x"))[:2] == (400, "InvalidArgument")
    assert rpc_error(InvalidArgument("x"))[:2] == (400, "InvalidArgument")
    assert rpc_error(RuntimeError("secret detail")) == (
        500,
        "InternalServerError",
        "An internal error has occurred. Please retry.",
    )
