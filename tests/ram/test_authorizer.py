"""The authorizer: who a key acts as, what users and roles may do, caches that follow RAM changes."""

from __future__ import annotations

import json
import logging
from dataclasses import replace

import pytest

from tests.api.test_rpc_protocol import signed
from tests.inprocess import TEST_ROOT, in_process
from tests.stores import OpenUrl
from tests.waiting import wait_until
from tidegate.api.context import AppContext
from tidegate.auth.errors import InvalidAccessKeyId
from tidegate.auth.keys import AccessKey, KeyKind, KeyRing, generate_access_key
from tidegate.auth.policy import Decision, parse_policy
from tidegate.ram import AccessDenied, Authorizer, EntityType, PrincipalKind, RamService
from tidegate.ram.repo import LOCAL_WRITES
from tidegate.store import Store

ACCOUNT = "1234567890123456"
ROLE_TRUST = json.dumps(
    {
        "Version": "1",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": ["fnf.aliyuncs.com"]}}],
    }
)


def document(effect: str, action: str, resource: str = "*") -> str:
    return json.dumps({"Version": "1", "Statement": [{"Effect": effect, "Action": action, "Resource": resource}]})


@pytest.fixture
def keyring() -> KeyRing:
    return KeyRing(generate_access_key(ACCOUNT))


@pytest.fixture
def ram(store: Store, keyring: KeyRing) -> RamService:
    return RamService(store, keyring, account_id=ACCOUNT)


@pytest.fixture
def authz(store: Store, keyring: KeyRing) -> Authorizer:
    authorizer = Authorizer(store, keyring, region="cn-hangzhou", account_id=ACCOUNT)
    keyring.user_keys = authorizer.user_key
    return authorizer


def user_key(keyring: KeyRing, ram: RamService, user: str) -> AccessKey:
    created = ram.create_access_key(user)
    return keyring.resolve(created.key_id, None, 0.0)


def test_root_is_never_denied_and_reads_nothing(keyring: KeyRing, open_url: OpenUrl) -> None:
    store = open_url()
    authz = Authorizer(store, keyring, region="cn-hangzhou", account_id=ACCOUNT)
    root = authz.principal(keyring.root)
    assert root.is_root and root.arn == f"acs:ram::{ACCOUNT}:root"
    store.close()  # the root's checks never touch the store
    authz.check(root, "ram:DeleteUser", "*")
    assert authz.decide(root, "anything:AtAll", "acs:x::y") is Decision.ALLOW


def test_a_user_may_do_what_its_policies_and_groups_allow(
    ram: RamService, authz: Authorizer, keyring: KeyRing, caplog: pytest.LogCaptureFixture
) -> None:
    ram.create_user("alice")
    ram.create_group("ops")
    ram.add_user_to_group("alice", "ops")
    ram.create_policy("fnf-all", document("Allow", "fnf:*"))
    ram.create_policy("no-delete", document("Deny", "fnf:DeleteFlow"))
    ram.attach_policy(EntityType.USER, "alice", "Custom", "fnf-all")
    ram.attach_policy(EntityType.GROUP, "ops", "System", "AliyunMNSReadOnlyAccess")
    ram.attach_policy(EntityType.GROUP, "ops", "Custom", "no-delete")
    alice = authz.principal(user_key(keyring, ram, "alice"))
    assert (alice.kind, alice.name, alice.arn) == (PrincipalKind.USER, "alice", f"acs:ram::{ACCOUNT}:user/alice")
    authz.check(alice, "fnf:StartExecution", "acs:fnf:cn-hangzhou:1:flows/f")
    authz.check(alice, "mns:GetQueueAttributes", "acs:mns:cn-hangzhou:1:/queues/q")  # the group's
    assert authz.decide(alice, "fnf:DeleteFlow", "*") is Decision.EXPLICIT_DENY  # the group's Deny wins
    caplog.set_level(logging.INFO, logger="tidegate.auth")
    with pytest.raises(AccessDenied) as denied:
        authz.check(alice, "mns:SendMessage", "acs:mns:cn-hangzhou:1:/queues/q/messages")
    assert denied.value.message == (
        "You are not authorized to do this action. Resource: acs:mns:cn-hangzhou:1:/queues/q/messages "
        "Action: mns:SendMessage"
    )
    assert (denied.value.action, denied.value.principal) == ("mns:SendMessage", alice.arn)
    logged = [r.getMessage() for r in caplog.records if r.name == "tidegate.auth" and r.levelno == logging.INFO]
    assert any(alice.arn in m and "mns:SendMessage" in m and "/queues/q/messages" in m for m in logged), logged


def test_changes_through_this_process_apply_at_once(ram: RamService, authz: Authorizer, keyring: KeyRing) -> None:
    ram.create_user("bob")
    bob = authz.principal(user_key(keyring, ram, "bob"))
    assert authz.decide(bob, "fnf:ListFlows", "*") is Decision.IMPLICIT_DENY
    ram.attach_policy(EntityType.USER, "bob", "System", "AliyunFnFReadOnlyAccess")
    assert authz.decide(bob, "fnf:ListFlows", "*") is Decision.ALLOW
    ram.create_policy("p", document("Allow", "fnf:ListFlows"))
    ram.attach_policy(EntityType.USER, "bob", "Custom", "p")
    ram.detach_policy(EntityType.USER, "bob", "System", "AliyunFnFReadOnlyAccess")
    assert authz.decide(bob, "fnf:ListFlows", "*") is Decision.ALLOW
    ram.create_policy_version("p", document("Deny", "fnf:ListFlows"), set_as_default=True)
    assert authz.decide(bob, "fnf:ListFlows", "*") is Decision.EXPLICIT_DENY


def test_changes_by_another_server_apply_within_a_second(
    ram: RamService, authz: Authorizer, keyring: KeyRing, open_url: OpenUrl
) -> None:
    ram.create_user("carol")
    carol = authz.principal(user_key(keyring, ram, "carol"))
    assert authz.decide(carol, "fnf:ListFlows", "*") is Decision.IMPLICIT_DENY
    other = RamService(open_url(), keyring, account_id=ACCOUNT)
    seen = LOCAL_WRITES.value
    other.attach_policy(EntityType.USER, "carol", "System", "AliyunFnFReadOnlyAccess")
    LOCAL_WRITES.value = seen  # as if the write came from another process: only the store's generation moved
    wait_until(lambda: authz.decide(carol, "fnf:ListFlows", "*") is Decision.ALLOW, timeout=3 * authz.refresh_s + 2)


def test_a_deleted_users_key_is_refused(ram: RamService, authz: Authorizer, keyring: KeyRing) -> None:
    ram.create_user("dave")
    key = ram.create_access_key("dave")
    principal = authz.principal(keyring.resolve(key.key_id, None, 0.0))
    ram.delete_access_key("dave", key.key_id)
    with pytest.raises(InvalidAccessKeyId):
        keyring.resolve(key.key_id, None, 0.0)
    ram.delete_user("dave")
    assert authz.decide(principal, "fnf:ListFlows", "*") is Decision.IMPLICIT_DENY  # no user: no policy


def test_roles_and_session_policies(ram: RamService, authz: Authorizer) -> None:
    ram.create_role("FlowRole", ROLE_TRUST)
    ram.attach_policy(EntityType.ROLE, "FlowRole", "System", "AliyunMNSFullAccess")
    role = authz.role_principal(f"acs:ram::{ACCOUNT}:role/flowrole", "exec-1")
    assert (role.kind, role.name, role.arn, role.session_name) == (
        PrincipalKind.ROLE,
        "FlowRole",
        f"acs:ram::{ACCOUNT}:assumed-role/FlowRole/exec-1",
        "exec-1",
    )
    authz.check(role, "mns:SendMessage", "acs:mns:cn-hangzhou:1:/queues/q/messages")
    with pytest.raises(AccessDenied):
        authz.check(role, "fnf:StartExecution", "*")
    narrowed = replace(role, session_policy=parse_policy(document("Allow", "mns:ReceiveMessage")))
    assert authz.decide(narrowed, "mns:SendMessage", "*") is Decision.IMPLICIT_DENY
    assert authz.decide(narrowed, "mns:ReceiveMessage", "*") is Decision.ALLOW
    for bad in (
        "acs:ram::999:role/FlowRole",
        f"acs:ram::{ACCOUNT}:role/NoSuchRole",
        "arn:aws:iam::1:role/x",
        f"acs:ram::{ACCOUNT}:user/alice",
    ):
        with pytest.raises(AccessDenied):
            authz.role_principal(bad, "s")


def test_temporary_credentials_of_a_role_act_as_the_session(authz: Authorizer, ram: RamService) -> None:
    ram.create_role("FlowRole", ROLE_TRUST)
    ram.attach_policy(EntityType.ROLE, "FlowRole", "System", "AliyunFnFFullAccess")
    key = AccessKey(
        id="STS.x",
        secret="s",
        kind=KeyKind.TEMPORARY,
        account_id=ACCOUNT,
        role_name="FlowRole",
        session_name="worker",
        session_policy=document("Allow", "fnf:ReportTaskSucceeded"),
    )
    session = authz.principal(key)
    assert session.kind is PrincipalKind.ROLE and session.arn.endswith(":assumed-role/FlowRole/worker")
    assert authz.decide(session, "fnf:ReportTaskSucceeded", "*") is Decision.ALLOW
    assert authz.decide(session, "fnf:DeleteFlow", "*") is Decision.IMPLICIT_DENY


def test_a_user_key_over_rpc(open_url: OpenUrl) -> None:
    ctx = AppContext(store=open_url(), keyring=KeyRing(TEST_ROOT))
    ram = RamService(ctx.store, ctx.keyring, account_id=ctx.account_id)
    ram.create_user("reader")
    ram.attach_policy(EntityType.USER, "reader", "System", "AliyunFnFReadOnlyAccess")
    key = ram.create_access_key("reader")
    assert key.secret is not None
    with in_process(ctx) as client:
        ok = client.get("/", params=signed({"Action": "ListFlows", "AccessKeyId": key.key_id}, secret=key.secret))
        assert ok.status_code == 200, ok.text
        denied = client.get(
            "/", params=signed({"Action": "DeleteFlow", "Name": "f", "AccessKeyId": key.key_id}, secret=key.secret)
        )
        assert denied.status_code == 403 and denied.json()["Code"] == "AccessDenied", denied.text
        assert "Action: fnf:DeleteFlow" in denied.json()["Message"]
        ram.update_access_key("reader", key.key_id, "Inactive")
        off = client.get("/", params=signed({"Action": "ListFlows", "AccessKeyId": key.key_id}, secret=key.secret))
        assert off.status_code == 403 and off.json()["Code"] == "InvalidAccessKeyID", off.text
        ram.update_access_key("reader", key.key_id, "Active")
        wrong = client.get("/", params=signed({"Action": "ListFlows", "AccessKeyId": key.key_id}, secret="x" * 30))
        assert wrong.status_code == 403 and wrong.json()["Code"] == "SignatureNotMatch", wrong.text
