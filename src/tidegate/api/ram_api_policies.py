"""RAM API actions on policies and their versions, roles, and attachments (docs/ram.md, RAM API)."""

from __future__ import annotations

from typing import Any

from tidegate.api.ram_api_base import action, marker, max_items, paged, service
from tidegate.api.ram_render import (
    attachment_json,
    date,
    entity_json,
    policy_json,
    role_json,
    version_json,
    wrapped,
)
from tidegate.api.rpc_product import RpcCall
from tidegate.ram.errors import invalid_parameter
from tidegate.ram.model import PolicyType, PrincipalType, RotateStrategy

__all__: list[str] = []


# --- policies ------------------------------------------------------------------------------------------


@action("CreatePolicy", "PolicyName", "PolicyDocument", "Description")
def create_policy(call: RpcCall) -> dict[str, Any]:
    """Create a Custom policy (its version v1 is the default)."""
    p = call.params
    policy = service(call).create_policy(
        p.req("PolicyName"), p.req("PolicyDocument"), description=p.text("Description")
    )
    return {"Policy": policy_json(policy)}


@action("GetPolicy", "PolicyName", "PolicyType")
def get_policy(call: RpcCall) -> dict[str, Any]:
    """A policy and its default version."""
    policy = service(call).get_policy(call.params.req("PolicyName"), call.params.req("PolicyType"))
    default = {
        "VersionId": policy.default_version,
        "IsDefaultVersion": True,
        "PolicyDocument": policy.document,
        "CreateDate": date(policy.modified_ms or policy.created_ms),
    }
    return {"Policy": policy_json(policy), "DefaultPolicyVersion": default}


@action("DeletePolicy", "PolicyName", "CascadingDelete")
def delete_policy(call: RpcCall) -> dict[str, Any]:
    """Delete a Custom policy; with ``CascadingDelete=true`` detach it and drop its other versions first."""
    name = call.params.req("PolicyName")
    svc = service(call)
    if call.params.bool("CascadingDelete"):
        for entity in svc.list_entities_for_policy(PolicyType.CUSTOM, name):
            svc.detach_policy(entity.principal_type, entity.name, PolicyType.CUSTOM, name)
        for version in svc.list_policy_versions(name, PolicyType.CUSTOM):
            if not version.is_default:
                svc.delete_policy_version(name, version.version_id)
    svc.delete_policy(name)
    return {}


@action("ListPolicies", "PolicyType", "Marker", "MaxItems")
def list_policies(call: RpcCall) -> dict[str, Any]:
    """System and Custom policies (or one type), a page at a time."""
    page = service(call).list_policies(
        policy_type=call.params.opt("PolicyType") or None, marker=marker(call), max_items_=max_items(call)
    )
    return paged("Policies", "Policy", map(policy_json, page.items), page.next_token)


@action("CreatePolicyVersion", "PolicyName", "PolicyDocument", "SetAsDefault", "RotateStrategy")
def create_policy_version(call: RpcCall) -> dict[str, Any]:
    """A new version of a Custom policy (at most five are kept)."""
    p = call.params
    version = service(call).create_policy_version(
        p.req("PolicyName"),
        p.req("PolicyDocument"),
        set_as_default=bool(p.bool("SetAsDefault")),
        rotate_strategy=p.opt("RotateStrategy") or RotateStrategy.NONE,
    )
    return {"PolicyVersion": version_json(version)}


@action("GetPolicyVersion", "PolicyName", "PolicyType", "VersionId")
def get_policy_version(call: RpcCall) -> dict[str, Any]:
    """One version of a policy."""
    p = call.params
    version = service(call).get_policy_version(p.req("PolicyName"), p.req("PolicyType"), p.req("VersionId"))
    return {"PolicyVersion": version_json(version)}


@action("DeletePolicyVersion", "PolicyName", "VersionId")
def delete_policy_version(call: RpcCall) -> dict[str, Any]:
    """Delete a version that is not the default."""
    service(call).delete_policy_version(call.params.req("PolicyName"), call.params.req("VersionId"))
    return {}


@action("ListPolicyVersions", "PolicyName", "PolicyType")
def list_policy_versions(call: RpcCall) -> dict[str, Any]:
    """A policy's versions."""
    versions = service(call).list_policy_versions(call.params.req("PolicyName"), call.params.req("PolicyType"))
    return wrapped("PolicyVersions", "PolicyVersion", map(version_json, versions))


@action("SetDefaultPolicyVersion", "PolicyName", "VersionId")
def set_default_policy_version(call: RpcCall) -> dict[str, Any]:
    """Make a version the one that applies."""
    service(call).set_default_policy_version(call.params.req("PolicyName"), call.params.req("VersionId"))
    return {}


# --- roles ---------------------------------------------------------------------------------------------


def _session(call: RpcCall, name: str) -> int | None:
    """A session limit in seconds (None: absent; the service checks the range)."""
    value = call.params.opt(name)
    if not value:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 9:
        raise invalid_parameter(name, "Format", f'The parameter - "{name}" must be a number of seconds.')
    return int(value)


@action("CreateRole", "RoleName", "AssumeRolePolicyDocument", "Description", "MaxSessionDuration")
def create_role(call: RpcCall) -> dict[str, Any]:
    """Create a role with its trust policy."""
    p = call.params
    role = service(call).create_role(
        p.req("RoleName"),
        p.req("AssumeRolePolicyDocument"),
        description=p.text("Description"),
        max_session_s=_session(call, "MaxSessionDuration"),
    )
    return {"Role": role_json(role)}


@action("GetRole", "RoleName")
def get_role(call: RpcCall) -> dict[str, Any]:
    """A role."""
    return {"Role": role_json(service(call).get_role(call.params.req("RoleName")))}


@action("UpdateRole", "RoleName", "NewAssumeRolePolicyDocument", "NewDescription", "NewMaxSessionDuration")
def update_role(call: RpcCall) -> dict[str, Any]:
    """Change a role's trust policy, description or session limit (absent: unchanged)."""
    p = call.params
    role = service(call).update_role(
        p.req("RoleName"),
        trust_policy=p.opt("NewAssumeRolePolicyDocument") or None,
        description=p.opt("NewDescription"),
        max_session_s=_session(call, "NewMaxSessionDuration"),
    )
    return {"Role": role_json(role)}


@action("DeleteRole", "RoleName")
def delete_role(call: RpcCall) -> dict[str, Any]:
    """Delete a role (refused while policies are attached to it)."""
    service(call).delete_role(call.params.req("RoleName"))
    return {}


@action("ListRoles", "Marker", "MaxItems")
def list_roles(call: RpcCall) -> dict[str, Any]:
    """The roles, a page at a time (without their trust policies)."""
    page = service(call).list_roles(marker=marker(call), max_items_=max_items(call))
    return paged("Roles", "Role", (role_json(r, document=False) for r in page.items), page.next_token)


# --- attachments ---------------------------------------------------------------------------------------


def _attachment_actions(principal: PrincipalType) -> None:
    who = f"{principal.value}Name"

    @action(f"AttachPolicyTo{principal.value}", who, "PolicyName", "PolicyType")
    def attach(call: RpcCall) -> dict[str, Any]:
        p = call.params
        service(call).attach_policy(principal, p.req(who), p.req("PolicyType"), p.req("PolicyName"))
        return {}

    @action(f"DetachPolicyFrom{principal.value}", who, "PolicyName", "PolicyType")
    def detach(call: RpcCall) -> dict[str, Any]:
        p = call.params
        service(call).detach_policy(principal, p.req(who), p.req("PolicyType"), p.req("PolicyName"))
        return {}

    @action(f"ListPoliciesFor{principal.value}", who)
    def listing(call: RpcCall) -> dict[str, Any]:
        attached = service(call).list_policies_for(principal, call.params.req(who))
        return wrapped("Policies", "Policy", map(attachment_json, attached))


for _principal in PrincipalType:
    _attachment_actions(_principal)


@action("ListEntitiesForPolicy", "PolicyName", "PolicyType")
def list_entities_for_policy(call: RpcCall) -> dict[str, Any]:
    """The users, groups and roles a policy is attached to."""
    p = call.params
    entities = service(call).list_entities_for_policy(p.req("PolicyType"), p.req("PolicyName"))
    doc: dict[str, Any] = {}
    for principal in PrincipalType:  # Users, Groups, Roles
        rows = [entity_json(e, call.ctx.account_id) for e in entities if e.principal_type is principal]
        doc.update(wrapped(principal.value + "s", principal.value, rows))
    return doc


@action("GetAccountAlias")
def get_account_alias(call: RpcCall) -> dict[str, Any]:
    """The account's alias: this server's account ID (there is no SetAccountAlias)."""
    return {"AccountAlias": call.ctx.account_id}
