"""STS on the real store (both backends): AssumeRole's checks, the sessions' principals, GetCallerIdentity."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tidegate.auth.errors import InvalidSecurityToken
from tidegate.auth.keys import AccessKey, KeyKind, KeyRing
from tidegate.auth.policy import Decision
from tidegate.ram import AccessDenied, Authorizer, Principal, PrincipalKind
from tidegate.ram.model import PrincipalType
from tidegate.ram.service import RamService
from tidegate.ram.sts import IdentityType, StsService
from tidegate.ram.sts_errors import (
    EntityNotExistRole,
    InvalidDurationSeconds,
    InvalidPolicyGrammar,
    InvalidRoleSessionName,
    NoPermission,
)
from tidegate.store import Store

ACCOUNT = "1234567890123456"
NOW_MS = 1_800_000_000_000
ROOT = AccessKey(id="LTAIroot", secret="rootsecret", kind=KeyKind.ROOT, account_id=ACCOUNT)


def _trust(**principal: list[str]) -> str:
    statement: dict[str, object] = {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": principal}
    return json.dumps({"Version": "1", "Statement": [statement]})


def _allow(action: str, resource: str) -> str:
    return json.dumps({"Version": "1", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]})


ACCOUNT_TRUST = _trust(RAM=[f"acs:ram::{ACCOUNT}:root"])


class World:
    """The store's RAM service, the authorizer and STS, on one clock the test moves."""

    def __init__(self, store: Store) -> None:
        self.now_ms = NOW_MS
        self.keyring = KeyRing(ROOT)
        self.ram = RamService(store, self.keyring, account_id=ACCOUNT, clock=lambda: self.now_ms)
        self.authorizer = Authorizer(
            store, self.keyring, region="cn-hangzhou", account_id=ACCOUNT, clock=lambda: self.now_ms
        )
        self.keyring.user_keys = self.authorizer.user_key  # as the server wires it (AppContext)
        self.sts = StsService(self.authorizer)

    def user(self, name: str, *policies: str) -> Principal:
        """A user with custom policies of the given documents, as the authorizer sees it."""
        self.ram.create_user(name)
        for i, doc in enumerate(policies):
            self.ram.create_policy(f"{name}-p{i}", doc)
            self.ram.attach_policy(PrincipalType.USER, name, "Custom", f"{name}-p{i}")
        created = self.ram.create_access_key(name)
        assert created.secret is not None
        key = self.keyring.resolve(created.key_id, None, self.now_ms / 1000)
        return self.authorizer.principal(key)

    def session(self, key: AccessKey) -> Principal:
        """The principal of temporary credentials, as a request signed with them would act."""
        assert key.security_token is not None
        return self.authorizer.principal(self.keyring.resolve(key.id, key.security_token, self.now_ms / 1000))


@pytest.fixture
def world(store: Store) -> Iterator[World]:
    yield World(store)


def test_root_assumes_a_role_its_account_trusts(world: World) -> None:
    role = world.ram.create_role("reader", ACCOUNT_TRUST)
    got = world.sts.assume_role(world.authorizer.root(), role.arn, "alice@example.com", 900)
    assert got.key.id.startswith("STS.") and got.key.expires_ms == NOW_MS + 900_000
    assert got.arn == f"acs:ram::{ACCOUNT}:assumed-role/reader/alice@example.com"
    assert got.assumed_role_id == f"{role.role_id}:alice@example.com"
    body = got.to_response()
    assert body["Credentials"] == {
        "AccessKeyId": got.key.id,
        "AccessKeySecret": got.key.secret,
        "SecurityToken": got.key.security_token,
        "Expiration": "2027-01-15T08:15:00Z",  # NOW_MS + 900 s
    }
    principal = world.session(got.key)
    assert principal.kind is PrincipalKind.ROLE and principal.name == "reader"
    assert principal.arn == got.arn and principal.session_name == "alice@example.com"
    assert principal.session_policy is None


def test_parameters_and_duration_limits(world: World) -> None:
    role = world.ram.create_role("r", ACCOUNT_TRUST)  # MaxSessionDuration: 3600 by default
    longer = world.ram.create_role("long", ACCOUNT_TRUST, max_session_s=7200)
    root = world.authorizer.root()
    with pytest.raises(InvalidDurationSeconds):
        world.sts.assume_role(root, role.arn, "s1", 899)
    with pytest.raises(InvalidDurationSeconds, match="3600"):
        world.sts.assume_role(root, role.arn, "s1", 3601)
    assert world.sts.assume_role(root, longer.arn, "s1", 7200).key.expires_ms == NOW_MS + 7_200_000
    for bad in ("a", "x" * 65, "alice smith", "élodie"):
        with pytest.raises(InvalidRoleSessionName):
            world.sts.assume_role(root, role.arn, bad)
    for policy in ("{", '{"Version": "1"}', '{"Version": "1", "Statement": [{"Effect": "Maybe"}]}', "x" * 2049):
        with pytest.raises(InvalidPolicyGrammar):
            world.sts.assume_role(root, role.arn, "s1", policy=policy)
    with pytest.raises(EntityNotExistRole):
        world.sts.assume_role(root, f"acs:ram::{ACCOUNT}:role/nobody", "s1")
    # Role names are case-insensitive in RAM; the session names the role as it was created.
    assert world.sts.assume_role(root, f"acs:ram::{ACCOUNT}:role/LONG", "s1").arn.endswith(":assumed-role/long/s1")


def test_a_user_needs_permission_and_trust(world: World) -> None:
    open_role = world.ram.create_role("open", ACCOUNT_TRUST)
    bobs_role = world.ram.create_role("bobs", _trust(RAM=[f"acs:ram::{ACCOUNT}:user/bob"]))
    nobody = world.user("nobody")
    alice = world.user("alice", _allow("sts:AssumeRole", f"acs:ram::{ACCOUNT}:role/*"))
    with pytest.raises(NoPermission, match="not authorized"):
        world.sts.assume_role(nobody, open_role.arn, "s1")
    # Without the permission, a role that does not exist is refused the same way (nothing leaks).
    with pytest.raises(NoPermission):
        world.sts.assume_role(nobody, f"acs:ram::{ACCOUNT}:role/ghost", "s1")
    assert world.sts.assume_role(alice, open_role.arn, "s1").arn.endswith("assumed-role/open/s1")
    with pytest.raises(NoPermission, match="trust policy"):
        world.sts.assume_role(alice, bobs_role.arn, "s1")
    bob = world.user("bob", _allow("sts:AssumeRole", bobs_role.arn))
    world.sts.assume_role(bob, bobs_role.arn, "s1")
    with pytest.raises(NoPermission):  # bob's permission names one role only
        world.sts.assume_role(bob, open_role.arn, "s1")


def test_external_id_condition_of_the_trust_policy(world: World) -> None:
    trust = json.loads(ACCOUNT_TRUST)
    trust["Statement"][0]["Condition"] = {"StringEquals": {"sts:ExternalId": "abcd1234"}}
    role = world.ram.create_role("partner", json.dumps(trust))
    root = world.authorizer.root()
    with pytest.raises(NoPermission):
        world.sts.assume_role(root, role.arn, "s1")
    with pytest.raises(NoPermission):
        world.sts.assume_role(root, role.arn, "s1", external_id="wrong-one")
    world.sts.assume_role(root, role.arn, "s1", external_id="abcd1234")


def test_session_policy_narrows_the_role(world: World) -> None:
    role = world.ram.create_role("worker", ACCOUNT_TRUST)
    world.ram.create_policy("all-fnf", _allow("fnf:*", "*"))
    world.ram.attach_policy(PrincipalType.ROLE, "worker", "Custom", "all-fnf")
    root = world.authorizer.root()
    full = world.session(world.sts.assume_role(root, role.arn, "full").key)
    narrow_doc = _allow("fnf:List*", "*")
    narrow = world.session(world.sts.assume_role(root, role.arn, "narrow", policy=narrow_doc).key)
    assert narrow.session_policy is not None and narrow.session_policy.text == narrow_doc
    flow = f"acs:fnf:cn-hangzhou:{ACCOUNT}:flow/f"
    assert world.authorizer.decide(full, "fnf:StartExecution", flow) is Decision.ALLOW
    assert world.authorizer.decide(narrow, "fnf:ListFlows", flow) is Decision.ALLOW
    assert world.authorizer.decide(narrow, "fnf:StartExecution", flow) is Decision.IMPLICIT_DENY
    # A session policy cannot widen the role.
    wide = world.session(world.sts.assume_role(root, role.arn, "wide", policy=_allow("*", "*")).key)
    assert world.authorizer.decide(wide, "mns:SendMessage", "*") is Decision.IMPLICIT_DENY


def test_sessions_end_with_their_role(world: World) -> None:
    world.ram.create_role("temp", ACCOUNT_TRUST)
    root = world.authorizer.root()
    key = world.sts.assume_role(root, f"acs:ram::{ACCOUNT}:role/temp", "s1").key
    world.session(key)
    world.ram.delete_role("temp")
    with pytest.raises(InvalidSecurityToken, match="deleted"):
        world.session(key)
    # A new role of the same name is another role: the old session does not come back.
    world.ram.create_role("temp", ACCOUNT_TRUST)
    with pytest.raises(InvalidSecurityToken):
        world.session(key)


def test_credentials_that_name_no_role_carry_no_permission(world: World) -> None:
    bare = world.keyring.issue_temporary(600, NOW_MS / 1000)
    with pytest.raises(AccessDenied, match="no role"):
        world.session(bare)


def test_the_server_assumes_a_role_for_a_service(world: World) -> None:
    role = world.ram.create_role("exec", _trust(Service=["fnf.aliyuncs.com"]), max_session_s=3600)
    got = world.sts.assume_role_as_service(role.arn, "flow-run", 7200)
    assert got.key.expires_ms == NOW_MS + 3_600_000  # capped by the role's maximum
    assert world.session(got.key).arn == f"acs:ram::{ACCOUNT}:assumed-role/exec/flow-run"
    with pytest.raises(NoPermission):
        world.sts.assume_role_as_service(role.arn, "fn", service="fc.aliyuncs.com")
    with pytest.raises(NoPermission):  # a role for the service is not one the account's users may assume
        world.sts.assume_role(world.authorizer.root(), role.arn, "s1")


def test_get_caller_identity(world: World) -> None:
    role = world.ram.create_role("reader", ACCOUNT_TRUST)
    root = world.authorizer.root()
    assert world.sts.get_caller_identity(root).to_response() == {
        "IdentityType": "Account",
        "AccountId": ACCOUNT,
        "Arn": f"acs:ram::{ACCOUNT}:root",
        "PrincipalId": ACCOUNT,
        "UserId": ACCOUNT,
    }
    alice = world.user("alice")
    user_id = world.ram.get_user("alice").user_id
    assert world.sts.get_caller_identity(alice).to_response() == {
        "IdentityType": "RAMUser",
        "AccountId": ACCOUNT,
        "Arn": f"acs:ram::{ACCOUNT}:user/alice",
        "PrincipalId": user_id,
        "UserId": user_id,
    }
    session = world.session(world.sts.assume_role(root, role.arn, "s1").key)
    me = world.sts.get_caller_identity(session)
    assert me.identity_type is IdentityType.ASSUMED_ROLE_USER
    assert me.to_response() == {
        "IdentityType": "AssumedRoleUser",
        "AccountId": ACCOUNT,
        "Arn": f"acs:ram::{ACCOUNT}:assumed-role/reader/s1",
        "PrincipalId": f"{role.role_id}:s1",
        "RoleId": role.role_id,
    }
