"""The RAM service on both store backends: users, AccessKeys, groups, policies and versions, roles,
attachments, RAM's name rules and error codes."""

from __future__ import annotations

import json

import pytest

from tests.stores import OpenUrl
from tidegate.auth.keys import KeyRing, derive_key, derive_user_secret, generate_access_key
from tidegate.auth.policy import MalformedPolicyDocument
from tidegate.ram import EntityType, KeyStatus, PolicyType, RamService, RotateStrategy
from tidegate.ram import errors as e
from tidegate.ram.repo import LOCAL_WRITES
from tidegate.store import Store

ACCOUNT = "1234567890123456"
ALLOW_FNF = json.dumps({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "fnf:*", "Resource": "*"}]})
ALLOW_MNS = json.dumps({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "mns:*", "Resource": "*"}]})
TRUST_FNF = json.dumps(
    {
        "Version": "1",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": ["fnf.aliyuncs.com"]}}],
    }
)


@pytest.fixture
def keyring() -> KeyRing:
    return KeyRing(generate_access_key(ACCOUNT))


@pytest.fixture
def ram(store: Store, keyring: KeyRing) -> RamService:
    return RamService(store, keyring, account_id=ACCOUNT)


def test_user_lifecycle(ram: RamService) -> None:
    user = ram.create_user("alice", display_name="Alice", comments="ops", email="a@example.com", mobile="86-1860000")
    assert user.user_id.isdigit() and len(user.user_id) == 16
    assert (user.name, user.display_name, user.email, user.mobile) == ("alice", "Alice", "a@example.com", "86-1860000")
    assert ram.get_user("ALICE").user_id == user.user_id  # names are case-insensitive
    with pytest.raises(e.UserAlreadyExists) as caught:
        ram.create_user("Alice")
    assert (caught.value.code, caught.value.status) == ("EntityAlreadyExists.User", 409)
    renamed = ram.update_user("alice", new_name="alice2", comments="dev")
    assert (renamed.name, renamed.comments, renamed.display_name, renamed.user_id) == (
        "alice2",
        "dev",
        "Alice",
        user.user_id,
    )
    with pytest.raises(e.UserNotExist) as missing:
        ram.get_user("alice")
    assert (missing.value.code, missing.value.status, missing.value.message) == (
        "EntityNotExist.User",
        404,
        "The user does not exist.",
    )
    ram.create_user("bob")
    with pytest.raises(e.UserAlreadyExists):
        ram.update_user("alice2", new_name="BOB")
    ram.delete_user("alice2")
    assert [u.name for u in ram.list_users().items] == ["bob"]


def test_user_name_rules(ram: RamService) -> None:
    for bad, code in [
        ("", "InvalidParameter.UserName.Length"),
        ("a" * 65, "InvalidParameter.UserName.Length"),
        ("a b", "InvalidParameter.UserName.InvalidChars"),
        ("a/b", "InvalidParameter.UserName.InvalidChars"),
        ("é", "InvalidParameter.UserName.InvalidChars"),
    ]:
        with pytest.raises(e.InvalidParameter) as caught:
            ram.create_user(bad)
        assert (caught.value.code, caught.value.status) == (code, 400)
    assert ram.create_user("a.b_c@d-e" + "x" * 55).name.startswith("a.b_c@d-e")
    with pytest.raises(e.InvalidParameter) as caught:
        ram.create_user("carol", display_name="x" * 129)
    assert caught.value.code == "InvalidParameter.DisplayName.Length"
    with pytest.raises(e.InvalidParameter) as caught:
        ram.create_user("carol", email="not-an-email")
    assert caught.value.code == "InvalidParameter.Email.Format"
    with pytest.raises(e.InvalidParameter) as caught:
        ram.create_user("carol", comments="bad\x00")
    assert caught.value.code == "InvalidParameter.Comments.InvalidChars"
    assert caught.value.message == 'The parameter - "Comments" contains invalid chars.'


def test_listing_pages_with_markers(ram: RamService) -> None:
    for i in range(5):
        ram.create_user(f"user{i}")
    first = ram.list_users(max_items_=2)
    assert [u.name for u in first.items] == ["user0", "user1"] and first.next_token
    second = ram.list_users(marker=first.next_token, max_items_=2)
    third = ram.list_users(marker=second.next_token or "", max_items_=2)
    assert [u.name for u in second.items + third.items] == ["user2", "user3", "user4"]
    assert third.next_token is None
    with pytest.raises(e.InvalidParameter):
        ram.list_users(max_items_=1001)


def test_access_keys(ram: RamService, keyring: KeyRing) -> None:
    ram.create_user("alice")
    key = ram.create_access_key("alice")
    assert key.key_id.startswith("LTAI") and len(key.key_id) == 24
    assert key.status is KeyStatus.ACTIVE and key.secret and len(key.secret) == 30
    salt = ram.repo.find_key(key.key_id)
    assert salt is not None and salt[0] == "alice"
    assert key.secret == derive_user_secret(derive_key(keyring.root.secret, "ram-user-key"), key.key_id, salt[1])
    assert all(k.secret is None for k in ram.list_access_keys("alice"))  # shown once only
    second = ram.create_access_key("alice")
    with pytest.raises(e.AccessKeyLimitExceeded) as caught:
        ram.create_access_key("alice")
    assert (caught.value.code, caught.value.status) == ("LimitExceeded.User.AccessKey", 409)
    assert ram.update_access_key("alice", key.key_id, "Inactive").status is KeyStatus.INACTIVE
    with pytest.raises(e.InvalidParameter):
        ram.update_access_key("alice", key.key_id, "Disabled")
    with pytest.raises(e.AccessKeyNotExist):
        ram.update_access_key("alice", "LTAInosuchkey", "Active")
    with pytest.raises(e.UserHasAccessKeys) as conflict:
        ram.delete_user("alice")
    assert (conflict.value.code, conflict.value.status) == ("DeleteConflict.User.AccessKey", 409)
    ram.create_user("bob")
    with pytest.raises(e.AccessKeyNotExist):  # another user's key
        ram.delete_access_key("bob", key.key_id)
    ram.delete_access_key("alice", key.key_id)
    ram.delete_access_key("alice", second.key_id)
    assert ram.list_access_keys("alice") == []
    ram.delete_user("alice")


def test_groups_and_members(ram: RamService) -> None:
    ram.create_user("alice")
    ram.create_user("bob")
    group = ram.create_group("ops", comments="on call")
    with pytest.raises(e.GroupAlreadyExists):
        ram.create_group("OPS")
    ram.add_user_to_group("alice", "ops")
    ram.add_user_to_group("bob", "ops")
    with pytest.raises(e.UserAlreadyInGroup) as already:
        ram.add_user_to_group("alice", "ops")
    assert already.value.code == "EntityAlreadyExists.User.Group"
    assert [g.name for g in ram.list_groups_for_user("alice")] == ["ops"]
    assert [u.name for u in ram.list_users_for_group("ops").items] == ["alice", "bob"]
    with pytest.raises(e.UserInGroups):
        ram.delete_user("alice")
    with pytest.raises(e.GroupHasUsers) as conflict:
        ram.delete_group("ops")
    assert conflict.value.code == "DeleteConflict.Group.User"
    renamed = ram.update_group("ops", new_name="sre")
    assert (renamed.name, renamed.group_id, renamed.comments) == ("sre", group.group_id, "on call")
    assert [g.name for g in ram.list_groups_for_user("bob")] == ["sre"]  # membership follows the rename
    ram.remove_user_from_group("alice", "sre")
    with pytest.raises(e.UserNotInGroup):
        ram.remove_user_from_group("alice", "sre")
    ram.remove_user_from_group("bob", "sre")
    ram.delete_group("sre")
    with pytest.raises(e.GroupNotExist):
        ram.get_group("sre")


def test_custom_policies_and_versions(ram: RamService) -> None:
    created = ram.create_policy("fnf-all", ALLOW_FNF, description="flows")
    assert (created.type, created.default_version, created.document) == (PolicyType.CUSTOM, "v1", ALLOW_FNF)
    with pytest.raises(e.PolicyAlreadyExists):
        ram.create_policy("fnf-all", ALLOW_FNF)
    with pytest.raises(e.PolicyAlreadyExists):  # a System policy's name
        ram.create_policy("AdministratorAccess", ALLOW_FNF)
    with pytest.raises(MalformedPolicyDocument):
        ram.create_policy("broken", '{"Version": "1", "Statement": [{"Effect": "Maybe"}]}')
    with pytest.raises(e.InvalidParameter) as caught:
        ram.create_policy("x_y", ALLOW_FNF)
    assert caught.value.code == "InvalidParameter.PolicyName.InvalidChars"
    v2 = ram.create_policy_version("fnf-all", ALLOW_MNS, set_as_default=True)
    assert (v2.version_id, v2.is_default) == ("v2", True)
    assert ram.get_policy("fnf-all", "Custom").document == ALLOW_MNS
    for _ in range(3):
        ram.create_policy_version("fnf-all", ALLOW_FNF)
    with pytest.raises(e.PolicyVersionLimitExceeded) as limit:
        ram.create_policy_version("fnf-all", ALLOW_FNF)
    assert (limit.value.code, limit.value.status) == ("LimitExceeded.Policy.Version", 409)
    v6 = ram.create_policy_version("fnf-all", ALLOW_FNF, rotate_strategy=RotateStrategy.DELETE_OLDEST)
    assert v6.version_id == "v6"
    assert [v.version_id for v in ram.list_policy_versions("fnf-all", "Custom")] == ["v2", "v3", "v4", "v5", "v6"]
    with pytest.raises(e.DefaultVersionUndeletable) as default:
        ram.delete_policy_version("fnf-all", "v2")
    assert default.value.code == "DeleteConflict.Policy.Version.Default"
    with pytest.raises(e.PolicyHasVersions):
        ram.delete_policy("fnf-all")
    ram.set_default_policy_version("fnf-all", "v6")
    assert ram.get_policy_version("fnf-all", "Custom", "v6").is_default
    with pytest.raises(e.PolicyVersionNotExist):
        ram.get_policy_version("fnf-all", "Custom", "v1")
    with pytest.raises(e.InvalidParameter) as fmt:
        ram.get_policy_version("fnf-all", "Custom", "1")
    assert fmt.value.code == "InvalidParameter.VersionId.Format"
    for v in ("v2", "v3", "v4", "v5"):
        ram.delete_policy_version("fnf-all", v)
    ram.delete_policy("fnf-all")
    with pytest.raises(e.PolicyNotExist):
        ram.get_policy("fnf-all", "Custom")


def test_system_policies_are_listed_and_read_only(ram: RamService) -> None:
    admin = ram.get_policy("AdministratorAccess", "System")
    assert admin.type is PolicyType.SYSTEM and json.loads(admin.document)["Statement"]
    with pytest.raises(e.PolicyNotExist):
        ram.get_policy("NoSuchPolicy", "System")
    with pytest.raises(e.SystemPolicyReadOnly):
        ram.delete_policy("AdministratorAccess")
    ram.create_policy("mine", ALLOW_FNF)
    system = ram.list_policies(policy_type="System").items
    assert system and all(p.type is PolicyType.SYSTEM for p in system)
    assert [p.name for p in ram.list_policies(policy_type="Custom").items] == ["mine"]
    everything: list[str] = []
    marker = ""
    while True:  # pages of two cross from the System policies to the Custom ones
        page = ram.list_policies(marker=marker, max_items_=2)
        everything += [p.name for p in page.items]
        if page.next_token is None:
            break
        marker = page.next_token
    assert everything == [p.name for p in system] + ["mine"]
    with pytest.raises(e.InvalidParameter):
        ram.list_policies(policy_type="Managed")


def test_roles(ram: RamService) -> None:
    role = ram.create_role("FnFRole", TRUST_FNF, description="flows")
    assert role.arn == f"acs:ram::{ACCOUNT}:role/FnFRole" and role.max_session_s == 3600 and len(role.role_id) == 19
    with pytest.raises(e.RoleAlreadyExists) as caught:
        ram.create_role("fnfrole", TRUST_FNF)
    assert (caught.value.code, caught.value.message) == ("EntityAlreadyExists.Role", "The role does already EXIST.")
    with pytest.raises(MalformedPolicyDocument):
        ram.create_role("other", ALLOW_FNF)  # a permission policy is not a trust policy
    with pytest.raises(e.InvalidParameter) as session:
        ram.create_role("other", TRUST_FNF, max_session_s=60)
    assert session.value.code == "InvalidParameter.MaxSessionDuration.Range"
    updated = ram.update_role("fnfrole", max_session_s=43200, description="new")
    assert (updated.max_session_s, updated.description, updated.trust_policy) == (43200, "new", TRUST_FNF)
    assert [r.name for r in ram.list_roles().items] == ["FnFRole"]
    ram.attach_policy(EntityType.ROLE, "FnFRole", "System", "AliyunFnFFullAccess")
    with pytest.raises(e.RoleHasPolicies):
        ram.delete_role("FnFRole")
    ram.detach_policy(EntityType.ROLE, "FnFRole", "System", "AliyunFnFFullAccess")
    ram.delete_role("FnFRole")
    with pytest.raises(e.RoleNotExist):
        ram.get_role("FnFRole")


def test_attachments(ram: RamService) -> None:
    ram.create_user("alice")
    ram.create_group("ops")
    ram.create_policy("fnf-all", ALLOW_FNF, description="flows")
    ram.attach_policy(EntityType.USER, "alice", "Custom", "fnf-all")
    ram.attach_policy(EntityType.USER, "alice", "System", "AliyunMNSFullAccess")
    ram.attach_policy(EntityType.GROUP, "ops", "Custom", "fnf-all")
    with pytest.raises(e.PolicyAlreadyAttachedToUser) as twice:
        ram.attach_policy(EntityType.USER, "alice", "Custom", "fnf-all")
    assert (twice.value.code, twice.value.status) == ("EntityAlreadyExists.User.Policy", 409)
    with pytest.raises(e.PolicyNotExist):
        ram.attach_policy(EntityType.USER, "alice", "System", "NoSuchPolicy")
    with pytest.raises(e.PolicyNotExist):
        ram.attach_policy(EntityType.USER, "alice", "Custom", "nosuch")
    with pytest.raises(e.UserNotExist):
        ram.attach_policy(EntityType.USER, "nobody", "Custom", "fnf-all")
    listed = ram.list_policies_for(EntityType.USER, "alice")
    assert {(a.policy_name, a.policy_type, a.default_version) for a in listed} == {
        ("fnf-all", PolicyType.CUSTOM, "v1"),
        ("AliyunMNSFullAccess", PolicyType.SYSTEM, "v1"),
    }
    entities = ram.list_entities_for_policy("Custom", "fnf-all")
    assert {(x.principal_type, x.name) for x in entities} == {(EntityType.USER, "alice"), (EntityType.GROUP, "ops")}
    assert ram.get_policy("fnf-all", "Custom").attachment_count == 2
    with pytest.raises(e.PolicyAttachedToUser):
        ram.delete_policy("fnf-all")
    with pytest.raises(e.UserHasPolicies):
        ram.delete_user("alice")
    with pytest.raises(e.GroupHasPolicies):
        ram.delete_group("ops")
    ram.detach_policy(EntityType.USER, "alice", "Custom", "fnf-all")
    with pytest.raises(e.PolicyNotAttachedToUser) as gone:
        ram.detach_policy(EntityType.USER, "alice", "Custom", "fnf-all")
    assert (gone.value.code, gone.value.status) == ("EntityNotExist.User.Policy", 404)
    with pytest.raises(e.PolicyAttachedToGroup):
        ram.delete_policy("fnf-all")
    ram.detach_policy(EntityType.GROUP, "ops", "Custom", "fnf-all")
    ram.delete_policy("fnf-all")


def test_every_write_bumps_the_generation(ram: RamService, open_url: OpenUrl, keyring: KeyRing) -> None:
    before, local = ram.repo.generation(), LOCAL_WRITES.value
    ram.create_user("alice")
    ram.create_group("ops")
    with pytest.raises(e.UserAlreadyExists):  # a refused write changes nothing
        ram.create_user("alice")
    assert ram.repo.generation() == before + 2 and LOCAL_WRITES.value > local
    other = RamService(open_url(), keyring, account_id=ACCOUNT)  # another server on the same database
    assert other.repo.generation() == before + 2
    assert other.get_user("alice").name == "alice"
