"""Signatures against the captured requests of the official SDKs (docs/protocols.md)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.auth.captures import ACCESS_KEY_ID, SECRET, Capture, flip, load_captures, replace_header
from tidegate.auth.acs3 import verify_acs3
from tidegate.auth.errors import (
    InvalidAuthorizationHeader,
    InvalidDateHeader,
    MalformedRequest,
    MissingAuthorizationHeader,
)
from tidegate.auth.signatures import (
    content_md5_ok,
    format_http_date,
    lower_headers,
    mns_authorization,
    mns_date_skew_ok,
    mns_string_to_sign,
    parse_http_date,
    parse_mns_authorization,
    parse_rpc_request,
    parse_rpc_timestamp,
    rpc_percent_encode,
    rpc_string_to_sign,
    rpc_timestamp_ok,
    sign_mns,
    sign_rpc,
    split_target,
    verify_mns,
    verify_rpc,
)

CAPS = load_captures()
MNS = [c for c in CAPS if c.scheme == "MNS"]
RPC = [c for c in CAPS if c.scheme == "RPC"]
ACS3 = [c for c in CAPS if c.scheme == "ACS3"]


def _ids(caps: list[Capture]) -> list[str]:
    return [c.name for c in caps]


def test_capture_inventory() -> None:
    # 85 MNS requests (41 + 44), 33 RPC, 2 ACS3: every scheme is exercised.
    assert len(MNS) == 85 and len(RPC) == 33 and len(ACS3) == 2


def _rpc_ok(c: Capture, target: str | None = None, body: bytes | None = None, secret: str = SECRET) -> bool:
    params = parse_rpc_request(c.method, target or c.target, c.header("content-type"), c.body if body is None else body)
    return verify_rpc(c.method, params, secret)


def _acs3_ok(c: Capture, headers: list[tuple[str, str]] | None = None, **kw: object) -> bool:
    path, query = split_target(str(kw.get("target", c.target)))
    body = kw.get("body", c.body)
    assert isinstance(body, bytes)
    secret = str(kw.get("secret", SECRET))
    return verify_acs3(c.method, path, query, headers or c.headers, body, secret)


# --- MNS ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("c", MNS, ids=_ids(MNS))
def test_mns_capture_verifies_and_tampering_fails(c: Capture) -> None:
    assert verify_mns(c.method, c.target, c.headers, SECRET)
    assert not verify_mns(c.method, c.target, c.headers, SECRET + "x")
    # one byte of the path / query
    assert not verify_mns(c.method, flip(c.target, 2), c.headers, SECRET)
    # a signed header
    assert not verify_mns(
        c.method, c.target, replace_header(c.headers, "date", flip(c.header("date") or "", 6)), SECRET
    )
    assert not verify_mns(c.method, c.target, [*c.headers, ("x-mns-extra", "1")], SECRET)
    assert not verify_mns("PATCH", c.target, c.headers, SECRET)
    # the signature itself
    auth = c.header("authorization") or ""
    assert not verify_mns(c.method, c.target, replace_header(c.headers, "authorization", flip(auth, 20)), SECRET)
    # the body is signed through Content-MD5 (the SDK's base64-of-hex form)
    md5 = c.header("content-md5")
    if md5 is not None:
        assert content_md5_ok(c.body, md5)
        assert not content_md5_ok(c.body + b" ", md5)
        changed = replace_header(c.headers, "content-md5", flip(md5, 3))
        assert not verify_mns(c.method, c.target, changed, SECRET)


@pytest.mark.parametrize("c", MNS, ids=_ids(MNS))
def test_sign_mns_reproduces_capture(c: Capture) -> None:
    headers = [(k, v) for k, v in c.headers if k.lower() != "authorization"]
    assert mns_authorization(ACCESS_KEY_ID, SECRET, c.method, c.target, headers) == c.header("authorization")


def test_mns_string_to_sign_matches_spec_example() -> None:
    c = next(c for c in MNS if c.name == "mns115-SendMessage")
    assert mns_string_to_sign(c.method, c.target, c.headers) == (
        "POST\nNjAyNzY5MDhhYjcyOWQzNThhMTliMDMxNjIzMjcxMTg=\ntext/xml;charset=UTF-8\n"
        "Sun, 22 Nov 2026 19:15:07 GMT\nx-mns-version:2015-06-06\n/queues/myqueue/messages"
    )


def test_mns_headers_any_case_and_mapping() -> None:
    c = next(c for c in MNS if c.name == "mns130-ReceiveMessage-empty-titlecase-headers")
    upper = [(k.upper(), v) for k, v in c.headers]
    assert verify_mns(c.method, c.target, upper, SECRET)
    assert verify_mns(c.method, c.target, dict(c.headers), SECRET)


def test_mns_receipt_handle_signed_raw() -> None:
    # The SDK signs the handle unencoded (docs/protocols.md); a decoded/re-encoded target must not verify.
    c = next(c for c in MNS if c.name == "mns115-ChangeMessageVisibility")
    assert "==" in c.target and verify_mns(c.method, c.target, c.headers, SECRET)
    assert not verify_mns(c.method, c.target.replace("==", "%3D%3D"), c.headers, SECRET)


@pytest.mark.parametrize(
    "header",
    ["MNS", "MNS id", "MNS :sig", "MNS id:", "Basic abc", "MNS id:not base64!", "MNS id:" + "A" * 300],
)
def test_parse_mns_authorization_malformed(header: str) -> None:
    with pytest.raises(InvalidAuthorizationHeader):
        parse_mns_authorization(header)


def test_parse_mns_authorization() -> None:
    assert parse_mns_authorization("MNS testAccessKeyId:4vy5YZKnQe5D91R99wCRek+bqyE=") == (
        "testAccessKeyId",
        "4vy5YZKnQe5D91R99wCRek+bqyE=",
    )
    assert parse_mns_authorization("MNS a:b:c2ln") == ("a:b", "c2ln")
    with pytest.raises(MissingAuthorizationHeader):
        parse_mns_authorization(None)
    with pytest.raises(MissingAuthorizationHeader):
        verify_mns("GET", "/queues", [("date", "x")], SECRET)


def test_content_md5_forms() -> None:
    body = b"<Message>x</Message>"
    hexd = hashlib.md5(body).hexdigest()
    assert content_md5_ok(body, base64.b64encode(hexd.encode()).decode())  # the SDKs' form
    assert content_md5_ok(body, base64.b64encode(hashlib.md5(body).digest()).decode())  # RFC 1864
    assert content_md5_ok(body, hexd.upper())  # the push vector's form
    assert not content_md5_ok(body, "not-md5")
    assert not content_md5_ok(b"other", base64.b64encode(hexd.encode()).decode())


def test_sign_mns_is_hmac_sha1_of_string_to_sign() -> None:
    headers = [("Date", "Sun, 22 Nov 2026 19:15:07 GMT"), ("X-MNS-Version", "2015-06-06")]
    sts = "GET\n\n\nSun, 22 Nov 2026 19:15:07 GMT\nx-mns-version:2015-06-06\n/queues"
    assert mns_string_to_sign("GET", "/queues", headers) == sts
    assert len(base64.b64decode(sign_mns("k", "GET", "/queues", headers))) == 20


# --- RPC ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("c", RPC, ids=_ids(RPC))
def test_rpc_capture_verifies_and_tampering_fails(c: Capture) -> None:
    assert _rpc_ok(c)
    assert not _rpc_ok(c, secret=SECRET + "x")
    # a byte of the query
    i = c.target.index("Version=") + len("Version=") + 9
    assert not _rpc_ok(c, target=c.target[:i] + "9" + c.target[i + 1 :])
    # the signature
    j = c.target.index("Signature=") + len("Signature=") + 2
    assert not _rpc_ok(c, target=flip(c.target, j))
    # the body, when it carries parameters
    if c.body:
        k = c.body.index(b"=") + 1
        assert not _rpc_ok(c, body=flip(c.body.decode(), k).encode())


@pytest.mark.parametrize("c", RPC, ids=_ids(RPC))
def test_sign_rpc_reproduces_capture(c: Capture) -> None:
    params = parse_rpc_request(c.method, c.target, c.header("content-type"), c.body)
    assert sign_rpc(SECRET, c.method, params) == params["Signature"]


def test_rpc_string_to_sign_matches_spec_example() -> None:
    c = next(c for c in RPC if c.name == "fnfcore-StartExecution")
    params = parse_rpc_request(c.method, c.target, c.header("content-type"), c.body)
    sts = rpc_string_to_sign(c.method, params)
    assert sts.startswith(
        "POST&%2F&AccessKeyId%3DtestAccessKeyId%26Action%3DStartExecution%26CallbackFnFTaskToken%3Dparent-token"
        "%26ExecutionName%3Dexec1%26FlowName%3Dflow1%26Format%3DJSON%26Input%3D%257B%2522a%2522%253A%25201%257D"
    )
    assert "%26SignatureType%3D%26" in sts  # empty values are signed


def test_parse_rpc_absolute_form_and_plus() -> None:
    c = next(c for c in RPC if c.name == "fnfcore-envHTTP_PROXY-ReportTaskSucceeded")
    assert c.target.startswith("http://cn-hangzhou.fnf.aliyuncs.com/?")
    params = parse_rpc_request(c.method, c.target, c.header("content-type"), c.body)
    assert params["TaskToken"] == "tt-123/abc+=" and params["Output"] == '{"result": "ok", "n": 1}'
    tea = next(c for c in RPC if c.name == "fnftea-ReportTaskFailed")
    p = parse_rpc_request(tea.method, tea.target, tea.header("content-type"), tea.body)
    assert p["Cause"] == "something ~ failed * badly"
    assert split_target("https://h:1/x?a=1") == ("/x", "a=1")


def test_parse_rpc_body_only_for_forms() -> None:
    assert parse_rpc_request("POST", "/?a=1", "application/json", b"b=2") == {"a": "1"}
    assert parse_rpc_request("POST", "/?a=1", "application/x-www-form-urlencoded; charset=UTF-8", b"b=2+3") == {
        "a": "1",
        "b": "2 3",
    }


@pytest.mark.parametrize(
    ("target", "body"),
    [("/?a=1&a=2", b""), ("/?a=1", b"a=2"), ("/?a=%ff", b""), ("/?x=1", b"\xff=1")],
)
def test_parse_rpc_rejects_ambiguous_or_undecodable(target: str, body: bytes) -> None:
    with pytest.raises(MalformedRequest):
        parse_rpc_request("POST", target, "application/x-www-form-urlencoded", body)


def test_rpc_percent_encode() -> None:
    assert rpc_percent_encode("a b*~/+=é") == "a%20b%2A~%2F%2B%3D%C3%A9"


def test_verify_rpc_requires_signature_and_method() -> None:
    params = {"Action": "X", "SignatureMethod": "HMAC-SHA1"}
    params["Signature"] = sign_rpc(SECRET, "GET", params)
    assert verify_rpc("GET", params, SECRET)
    assert not verify_rpc("POST", params, SECRET)
    assert not verify_rpc("GET", {**params, "SignatureMethod": "HMAC-SHA256"}, SECRET)
    assert not verify_rpc("GET", {k: v for k, v in params.items() if k != "Signature"}, SECRET)


# --- ACS3 ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("c", ACS3, ids=_ids(ACS3))
def test_acs3_capture_verifies_and_tampering_fails(c: Capture) -> None:
    assert _acs3_ok(c)
    assert not _acs3_ok(c, secret=SECRET + "x")
    assert not _acs3_ok(c, headers=replace_header(c.headers, "x-acs-date", flip(c.header("x-acs-date") or "", 3)))
    assert not _acs3_ok(c, target=c.target + "&extra=1")
    assert not _acs3_ok(c, body=c.body + b"&x=1")
    auth = c.header("authorization") or ""
    assert not _acs3_ok(c, headers=replace_header(c.headers, "authorization", flip(auth, len(auth) - 3)))


# --- dates --------------------------------------------------------------------------------------------


def test_http_date_parsing() -> None:
    t = parse_http_date("Sun, 22 Nov 2026 19:14:38 GMT")
    assert format_http_date(t) == "Sun, 22 Nov 2026 19:14:38 GMT"
    assert mns_date_skew_ok("Sun, 22 Nov 2026 19:14:38 GMT", t + 900)
    assert not mns_date_skew_ok("Sun, 22 Nov 2026 19:14:38 GMT", t + 901)
    assert not mns_date_skew_ok("Sun, 22 Nov 2026 19:14:38 GMT", t - 901)


@pytest.mark.parametrize(
    "value",
    [
        "Sun, 22 Nov 2026 19:14:38 UTC",
        "Sunday, 22-Nov-26 19:14:38 GMT",
        "Sun Nov 22 19:14:38 2026",
        "Sun, 31 Feb 2026 19:14:38 GMT",
        "2026-11-22T19:14:38Z",
        "",
    ],
)
def test_http_date_rejects(value: str) -> None:
    with pytest.raises(InvalidDateHeader):
        mns_date_skew_ok(value, 0)


def test_rpc_timestamp() -> None:
    t = parse_rpc_timestamp("2026-11-22T19:16:04Z")
    assert t == parse_http_date("Sun, 22 Nov 2026 19:16:04 GMT")
    assert parse_rpc_timestamp("2026-11-22T19:16:04.250Z") == t + 0.25
    assert rpc_timestamp_ok("2026-11-22T19:16:04Z", t + 899)
    assert not rpc_timestamp_ok("2026-11-22T19:16:04Z", t + 901)
    for bad in ("2026-11-22 19:16:04", "2026-11-22T19:16:04+08:00", "2026-13-01T00:00:00Z", "x"):
        with pytest.raises(InvalidDateHeader):
            rpc_timestamp_ok(bad, t)


def test_lower_headers_keeps_first() -> None:
    assert lower_headers([("Date", "a"), ("date", "b")]) == {"date": "a"}


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=12), st.text(max_size=40), max_size=8))
def test_string_to_sign_encodes_the_canonical_string_as_percent_encoding_would(params: dict[str, str]) -> None:
    pairs = sorted((k, v) for k, v in params.items() if k != "Signature")
    canonical = "&".join(f"{rpc_percent_encode(k)}={rpc_percent_encode(v)}" for k, v in pairs)
    assert rpc_string_to_sign("post", params) == f"POST&%2F&{rpc_percent_encode(canonical)}"
