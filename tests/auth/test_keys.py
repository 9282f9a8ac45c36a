"""Root keys, temporary (STS-style) credentials and task tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import stat
from pathlib import Path

import pytest

from tidegate.auth.errors import (
    InvalidAccessKeyId,
    InvalidSecurityToken,
    InvalidTaskToken,
    SecurityTokenExpired,
)
from tidegate.auth.keys import (
    MAX_SESSION_POLICY,
    MAX_TEMPORARY_TTL_S,
    AccessKey,
    KeyKind,
    KeyRing,
    derive_key,
    derive_user_secret,
    generate_access_key,
    issue_temporary,
    load_or_create_root_key,
)
from tidegate.auth.signatures import (
    mns_authorization,
    parse_mns_authorization,
    parse_rpc_request,
    sign_rpc,
    verify_mns,
    verify_rpc,
)
from tidegate.auth.tasktoken import TaskTokenClaims, TaskTokenSigner, flow_tag
from tidegate.errors import ConfigurationError
from tidegate.names import DEFAULT_ACCOUNT_ID
from tidegate.ram import Authorizer, RamService
from tidegate.store import Store

NOW = 1_795_000_000.0
URL_SAFE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_generate_access_key_shape() -> None:
    k = generate_access_key()
    assert k.id.startswith("LTAI") and len(k.id) == 24 and k.id.isalnum()
    assert len(k.secret) == 30 and k.secret.isalnum()
    assert k.kind is KeyKind.ROOT and k.account_id == DEFAULT_ACCOUNT_ID
    assert generate_access_key().secret != k.secret
    assert k.secret not in repr(k)


def test_root_key_from_env(tmp_path: Path) -> None:
    env = {"TIDEGATE_ACCESS_KEY_ID": "id1", "TIDEGATE_ACCESS_KEY_SECRET": "s1", "TIDEGATE_ACCOUNT_ID": "42"}
    key, created = load_or_create_root_key(tmp_path, env)
    assert (key.id, key.secret, key.account_id, created) == ("id1", "s1", "42", False)
    assert not (tmp_path / "root-key.json").exists()


def test_root_key_env_half_set_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        load_or_create_root_key(tmp_path, {"TIDEGATE_ACCESS_KEY_ID": "id1"})


def test_root_key_created_once_then_read(tmp_path: Path) -> None:
    data = tmp_path / "data"
    key, created = load_or_create_root_key(data, {})
    assert created and key.id.startswith("LTAI")
    path = data / "root-key.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["access_key_secret"] == key.secret
    again, created2 = load_or_create_root_key(data, {})
    assert not created2 and again == key
    # TIDEGATE_ACCOUNT_ID overrides the stored account id.
    assert load_or_create_root_key(data, {"TIDEGATE_ACCOUNT_ID": "77"})[0].account_id == "77"
    assert [p.name for p in data.iterdir()] == ["root-key.json"]  # no temp files left


def test_root_key_file_must_be_private(tmp_path: Path) -> None:
    load_or_create_root_key(tmp_path, {})
    os.chmod(tmp_path / "root-key.json", 0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        load_or_create_root_key(tmp_path, {})


def test_root_key_file_garbled(tmp_path: Path) -> None:
    p = tmp_path / "root-key.json"
    p.write_text("{not json")
    os.chmod(p, 0o600)
    with pytest.raises(ConfigurationError):
        load_or_create_root_key(tmp_path, {})


# --- temporary credentials ----------------------------------------------------------------------------


def _ring() -> KeyRing:
    return KeyRing(AccessKey(id="LTAIroot", secret="rootsecret", kind=KeyKind.ROOT, account_id="123"))


def test_root_resolution() -> None:
    ring = _ring()
    assert ring.resolve_secret("LTAIroot", None, NOW) == "rootsecret"
    assert ring.resolve_secret("LTAIroot", "", NOW) == "rootsecret"
    with pytest.raises(InvalidAccessKeyId):
        ring.resolve_secret("LTAIother", None, NOW)


def test_temporary_credentials_sign_an_rpc_request() -> None:
    ring = _ring()
    tmp = ring.issue_temporary(900, NOW)
    assert tmp.kind is KeyKind.TEMPORARY and tmp.id.startswith("STS.") and tmp.account_id == "123"
    assert tmp.expires_ms == int((NOW + 900) * 1000) and tmp.security_token
    # The function signs like the Tea SDK with STS credentials: SecurityToken is a signed parameter.
    params = {"Action": "ReportTaskSucceeded", "AccessKeyId": tmp.id, "SecurityToken": tmp.security_token}
    params["Signature"] = sign_rpc(tmp.secret, "POST", params)
    from urllib.parse import urlencode

    got = parse_rpc_request("POST", "/?" + urlencode(params), None, b"")
    secret = ring.resolve_secret(got["AccessKeyId"], got.get("SecurityToken"), NOW + 10)
    assert secret == tmp.secret and verify_rpc("POST", got, secret)


def test_temporary_credentials_sign_an_mns_request() -> None:
    ring = _ring()
    tmp = ring.issue_temporary(60, NOW)
    assert tmp.security_token is not None
    headers = [("date", "Sun, 22 Nov 2026 19:15:07 GMT"), ("x-mns-version", "2015-06-06")]
    headers += [("security-token", tmp.security_token)]
    headers += [("Authorization", mns_authorization(tmp.id, tmp.secret, "GET", "/queues", headers))]
    ak, _ = parse_mns_authorization(dict(headers)["Authorization"])
    secret = ring.resolve_secret(ak, tmp.security_token, NOW)
    assert verify_mns("GET", "/queues", headers, secret)


def test_temporary_credentials_expire() -> None:
    ring = _ring()
    tmp = ring.issue_temporary(60, NOW)
    assert tmp.security_token is not None
    ring.resolve_secret(tmp.id, tmp.security_token, NOW + 59.9)
    with pytest.raises(SecurityTokenExpired):
        ring.resolve_secret(tmp.id, tmp.security_token, NOW + 60)


def test_tampered_or_foreign_tokens_refused() -> None:
    ring = _ring()
    tmp = ring.issue_temporary(60, NOW)
    tok = tmp.security_token
    assert tok is not None
    prefix, payload, mac = tok.split(".")
    # Lengthen the expiry inside the payload: the MAC no longer matches.
    forged = issue_temporary(b"x" * 32, 3600, NOW, "123")
    assert forged.security_token is not None
    for bad in (
        f"{prefix}.{forged.security_token.split('.')[1]}.{mac}",
        tok[:-2],
        tok + "A",
        "garbage",
        forged.security_token,
    ):
        with pytest.raises(InvalidSecurityToken):
            ring.resolve_secret(tmp.id, bad, NOW)
    # A genuine token presented with another AccessKey ID.
    other = ring.issue_temporary(60, NOW)
    with pytest.raises(InvalidSecurityToken):
        ring.resolve_secret(other.id, tok, NOW)
    # Another server (other root secret) does not accept it.
    stranger = KeyRing(AccessKey(id="LTAIroot", secret="other", kind=KeyKind.ROOT, account_id="123"))
    with pytest.raises(InvalidSecurityToken):
        stranger.resolve_secret(tmp.id, tok, NOW)
    assert payload


def test_issue_temporary_bounds() -> None:
    with pytest.raises(ValueError):
        issue_temporary(b"k" * 32, 0, NOW)
    with pytest.raises(ValueError):
        issue_temporary(b"k" * 32, 10**6, NOW)


def test_derive_key_separates_purposes() -> None:
    assert derive_key("s", "sts") != derive_key("s", "task-token") != derive_key("t", "sts")
    assert len(derive_key(b"s", "x")) == 32


# --- task tokens --------------------------------------------------------------------------------------

SIGNER = TaskTokenSigner(b"k" * 32)
FLOW_ID = "0b6c52b5-3d39-4c1e-9d3c-5d8f1a6f7e21"


def _mint(flow: str, execution: str, key: str, execution_id: int = 7, flow_id: str = FLOW_ID) -> str:
    return SIGNER.mint(flow, execution, key, execution_id=execution_id, flow_id=flow_id)


def _inner(tok: str) -> str:
    return base64.urlsafe_b64decode(tok + "=" * (-len(tok) % 4)).decode()


def test_task_token_round_trip_and_url_safety() -> None:
    tok = _mint("flow_1", "exec-2", "17.1")
    assert set(tok) <= URL_SAFE
    assert SIGNER.parse(tok) == ("flow_1", "exec-2", "17.1")
    claims = SIGNER.claims(tok)
    assert claims == TaskTokenClaims("flow_1", "exec-2", "17.1", 7, flow_tag(FLOW_ID))
    assert claims.matches(7, FLOW_ID, "flow_1", "exec-2")
    inner = _inner(tok)
    # the real service's five-part layout (docs/auth.md); the fourth part binds the execution's store id
    assert inner.startswith(f"v1#flow_1#exec-2#7:{flow_tag(FLOW_ID)}:17.1#")
    assert len(base64.b64decode(inner.rsplit("#", 1)[1])) == 20  # an HMAC-SHA1
    assert _mint("flow_1", "exec-2", "18.1") != tok


def test_task_token_names_one_execution_only() -> None:
    """The same flow, execution and task key in a re-created flow or another execution row: other tokens."""
    tok = _mint("f", "e", "2.1")
    recreated = _mint("f", "e", "2.1", flow_id="9a1f0c8e-0000-4000-8000-000000000000")
    other_row = _mint("f", "e", "2.1", execution_id=8)
    assert len({tok, recreated, other_row}) == 3
    claims = SIGNER.claims(tok)
    assert not claims.matches(7, "9a1f0c8e-0000-4000-8000-000000000000", "f", "e")
    assert not claims.matches(8, FLOW_ID, "f", "e")
    assert not claims.matches(7, FLOW_ID, "f", "e2")
    assert not claims.matches(7, FLOW_ID, "g", "e")


def test_task_token_minted_before_binding_still_parses() -> None:
    """A token of the previous layout (``v1#flow#exec#task_key#sig``) parses with no execution id."""
    prefix = "v1#f#e#2.1#"
    mac = base64.b64encode(hmac.new(b"k" * 32, prefix.encode(), hashlib.sha1).digest()).decode()
    legacy = base64.urlsafe_b64encode((prefix + mac).encode()).decode().rstrip("=")
    claims = SIGNER.claims(legacy)
    assert claims == TaskTokenClaims("f", "e", "2.1")
    assert claims.execution_id is None and not claims.matches(7, FLOW_ID, "f", "e")


def test_task_token_forged_or_garbled() -> None:
    tok = _mint("f", "e", "1")
    other = TaskTokenSigner(b"j" * 32).mint("f", "e", "1", execution_id=7, flow_id=FLOW_ID)
    inner = _inner(tok)
    retargeted = base64.urlsafe_b64encode(inner.replace("#e#", "#x#").encode()).decode().rstrip("=")
    rebound = base64.urlsafe_b64encode(inner.replace("#7:", "#8:").encode()).decode().rstrip("=")
    for bad in (
        other,
        tok[:-4],
        tok[:10],
        tok + "A",
        "",
        "tt-123/abc+=",
        "%%%",
        retargeted,
        rebound,
        "é" * 10,
        "A" * 5000,
    ):
        with pytest.raises(InvalidTaskToken):
            SIGNER.parse(bad)


def _signed(inner_prefix: str) -> str:
    mac = base64.b64encode(hmac.new(b"k" * 32, inner_prefix.encode(), hashlib.sha1).digest()).decode()
    return base64.urlsafe_b64encode((inner_prefix + mac).encode()).decode().rstrip("=")


@pytest.mark.parametrize("binding", ["x:abcdefabcd:1", "7:short:1", "7:abcdefabcd:", "1" * 19 + ":abcdefabcd:1"])
def test_task_token_malformed_binding_is_refused_even_if_signed(binding: str) -> None:
    with pytest.raises(InvalidTaskToken):
        SIGNER.claims(_signed(f"v1#f#e#{binding}#"))


@pytest.mark.parametrize(
    ("parts", "execution_id"),
    [(("", "e", "1"), 7), (("f#", "e", "1"), 7), (("f", "e", "1#2"), 7), (("f", "e", "1:2"), 7), (("f", "e", "1"), 0)],
)
def test_task_token_mint_rejects_bad_parts(parts: tuple[str, str, str], execution_id: int) -> None:
    with pytest.raises(ValueError):
        SIGNER.mint(*parts, execution_id=execution_id, flow_id=FLOW_ID)


def test_keyring_task_tokens_bound_to_root_key() -> None:
    tok = _ring().task_tokens.mint("f", "e", "1", execution_id=1, flow_id=FLOW_ID)
    assert _ring().task_tokens.parse(tok) == ("f", "e", "1")
    stranger = KeyRing(AccessKey(id="LTAIroot", secret="other", kind=KeyKind.ROOT, account_id="123"))
    with pytest.raises(InvalidTaskToken):
        stranger.task_tokens.parse(tok)


def test_role_session_token_carries_the_session() -> None:
    ring = _ring()
    policy = '{"Version":"1","Statement":[{"Effect":"Allow","Action":"fnf:List*","Resource":"*"}]}'
    tmp = ring.issue_role_session("reader", "alice@example.com", 900, NOW, policy, role_id="3001")
    assert tmp.security_token is not None and tmp.security_token.startswith("tgsts2.")
    got = ring.resolve(tmp.id, tmp.security_token, NOW + 1)
    assert got.kind is KeyKind.TEMPORARY and got.secret == tmp.secret and got.account_id == "123"
    assert (got.role_name, got.role_id, got.session_name, got.session_policy) == (
        "reader",
        "3001",
        "alice@example.com",
        policy,
    )
    # Credentials that name no role resolve, but without a role (the authorizer gives them nothing).
    bare = ring.issue_temporary(60, NOW)
    assert bare.security_token is not None
    assert ring.resolve(bare.id, bare.security_token, NOW).role_name is None


def test_role_session_token_fits_the_longest_session_policy() -> None:
    ring = _ring()
    # The worst case for the token's length: characters JSON escapes, and two-byte UTF-8 ones.
    policy = ('"\\\n\tÿ' * 2048)[:MAX_SESSION_POLICY]
    tmp = ring.issue_role_session("r", "s" * 64, MAX_TEMPORARY_TTL_S, NOW, policy, role_id="9" * 20)
    assert tmp.security_token is not None
    assert ring.resolve(tmp.id, tmp.security_token, NOW).session_policy == policy
    with pytest.raises(ValueError):
        ring.issue_role_session("r", "s", 900, NOW, "x" * (MAX_SESSION_POLICY + 1))
    # Anything longer than any token the server issues is refused before its MAC is computed.
    with pytest.raises(InvalidSecurityToken):
        ring.resolve(tmp.id, tmp.security_token + "A" * 8192, NOW)


def test_tokens_of_the_first_layout_are_refused() -> None:
    # tgsts1 tokens named no role (they acted as the account): they are not accepted any more.
    ring = _ring()
    tmp = ring.issue_temporary(60, NOW)
    assert tmp.security_token is not None
    old = "tgsts1." + tmp.security_token.removeprefix("tgsts2.")
    with pytest.raises(InvalidSecurityToken):
        ring.resolve(tmp.id, old, NOW)


@pytest.mark.parametrize(
    "fields",
    [
        ["STS.x", 1, "1", "r", "i", "s"],  # too short
        ["STS.x", "1", "1", "r", "i", "s", None],  # expiry not a number
        ["STS.x", 1, "1", "r", "i", "s", 5],  # policy not text
        {"id": "STS.x"},
    ],
)
def test_genuinely_signed_but_malformed_payloads_refused(fields: object) -> None:
    # Only the server can sign, but a payload it would never write must still fail cleanly.
    from tidegate.auth import keys

    ring = _ring()
    payload = keys._b64u(json.dumps(fields).encode())
    token = f"tgsts2.{payload}.{keys._token_mac(ring._sts_key, payload)}"
    with pytest.raises(InvalidSecurityToken):
        ring.resolve("STS.x", token, 0)


# --- RAM users' AccessKeys ------------------------------------------------------------------------------


def test_user_secrets_are_derived_from_the_root_key() -> None:
    ring = KeyRing(generate_access_key())
    secret = derive_user_secret(ring.user_key, "LTAIabc", "salt1")
    assert len(secret) == 30 and set(secret) <= URL_SAFE
    assert ring.user_key == derive_key(ring.root.secret, "ram-user-key")
    assert derive_user_secret(ring.user_key, "LTAIabc", "salt2") != secret  # the salt matters
    assert derive_user_secret(ring.user_key, "LTAIabd", "salt1") != secret  # so does the id
    rotated = KeyRing(generate_access_key())
    assert derive_user_secret(rotated.user_key, "LTAIabc", "salt1") != secret  # a new root key re-keys users


def test_user_keys_resolve_through_the_store(store: Store) -> None:
    ring = KeyRing(generate_access_key())
    ram = RamService(store, ring, account_id=ring.root.account_id)
    ram.create_user("alice")
    created = ram.create_access_key("alice")
    with pytest.raises(InvalidAccessKeyId):  # no lookup wired: only the root key and STS credentials resolve
        ring.resolve(created.key_id, None, NOW)
    authz = Authorizer(store, ring, region="cn-hangzhou", account_id=ring.root.account_id)
    ring.user_keys = authz.user_key
    key = ring.resolve(created.key_id, None, NOW)
    assert (key.kind, key.user_name, key.secret, key.account_id) == (
        KeyKind.USER,
        "alice",
        created.secret,
        ring.root.account_id,
    )
    assert ring.resolve(ring.root.id, None, NOW) is ring.root  # the root key still resolves first
    ram.update_access_key("alice", created.key_id, "Inactive")
    with pytest.raises(InvalidAccessKeyId) as inactive:
        ring.resolve(created.key_id, None, NOW)
    assert inactive.value.message == f"The AccessKey ID {created.key_id} is invalid."
    ram.update_access_key("alice", created.key_id, "Active")
    assert ring.resolve_secret(created.key_id, None, NOW) == created.secret
    for unknown in ("LTAInosuchkey0000000000", "", "x" * 5000):
        with pytest.raises(InvalidAccessKeyId):
            ring.resolve(unknown, None, NOW)
