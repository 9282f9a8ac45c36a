"""RAM API actions on users, their AccessKeys, and groups (docs/ram.md, RAM API)."""

from __future__ import annotations

from typing import Any

from tidegate.api.ram_api_base import action, marker, max_items, paged, service
from tidegate.api.ram_render import access_key_json, group_json, user_json, wrapped
from tidegate.api.rpc_product import RpcCall

__all__: list[str] = []

_USER_FIELDS = ("DisplayName", "Email", "MobilePhone", "Comments")


# --- users ---------------------------------------------------------------------------------------------


@action("CreateUser", "UserName", *_USER_FIELDS)
def create_user(call: RpcCall) -> dict[str, Any]:
    """Create a user."""
    p = call.params
    user = service(call).create_user(
        p.req("UserName"),
        display_name=p.text("DisplayName"),
        email=p.text("Email"),
        mobile=p.text("MobilePhone"),
        comments=p.text("Comments"),
    )
    return {"User": user_json(user)}


@action("GetUser", "UserName")
def get_user(call: RpcCall) -> dict[str, Any]:
    """A user."""
    return {"User": user_json(service(call).get_user(call.params.req("UserName")))}


@action("UpdateUser", "UserName", "NewUserName", *(f"New{f}" for f in _USER_FIELDS))
def update_user(call: RpcCall) -> dict[str, Any]:
    """Rename a user or change its display name, e-mail, phone or comments (absent: unchanged)."""
    p = call.params
    user = service(call).update_user(
        p.req("UserName"),
        new_name=p.opt("NewUserName") or None,
        display_name=p.opt("NewDisplayName"),
        email=p.opt("NewEmail"),
        mobile=p.opt("NewMobilePhone"),
        comments=p.opt("NewComments"),
    )
    return {"User": user_json(user)}


@action("DeleteUser", "UserName")
def delete_user(call: RpcCall) -> dict[str, Any]:
    """Delete a user (refused while it has AccessKeys, groups or policies)."""
    service(call).delete_user(call.params.req("UserName"))
    return {}


@action("ListUsers", "Marker", "MaxItems")
def list_users(call: RpcCall) -> dict[str, Any]:
    """The users, by name, a page at a time."""
    page = service(call).list_users(marker=marker(call), max_items_=max_items(call))
    return paged("Users", "User", map(user_json, page.items), page.next_token)


# --- access keys ---------------------------------------------------------------------------------------


@action("CreateAccessKey", "UserName")
def create_access_key(call: RpcCall) -> dict[str, Any]:
    """A new AccessKey of a user, with its secret (shown this once)."""
    return {"AccessKey": access_key_json(service(call).create_access_key(call.params.req("UserName")))}


@action("UpdateAccessKey", "UserName", "UserAccessKeyId", "Status")
def update_access_key(call: RpcCall) -> dict[str, Any]:
    """Make a user's AccessKey Active or Inactive."""
    p = call.params
    service(call).update_access_key(p.req("UserName"), p.req("UserAccessKeyId"), p.req("Status"))
    return {}


@action("DeleteAccessKey", "UserName", "UserAccessKeyId")
def delete_access_key(call: RpcCall) -> dict[str, Any]:
    """Delete a user's AccessKey."""
    service(call).delete_access_key(call.params.req("UserName"), call.params.req("UserAccessKeyId"))
    return {}


@action("ListAccessKeys", "UserName")
def list_access_keys(call: RpcCall) -> dict[str, Any]:
    """A user's AccessKeys (never their secrets)."""
    keys = service(call).list_access_keys(call.params.req("UserName"))
    return wrapped("AccessKeys", "AccessKey", map(access_key_json, keys))


# --- groups --------------------------------------------------------------------------------------------


@action("CreateGroup", "GroupName", "Comments")
def create_group(call: RpcCall) -> dict[str, Any]:
    """Create a group."""
    group = service(call).create_group(call.params.req("GroupName"), comments=call.params.text("Comments"))
    return {"Group": group_json(group)}


@action("GetGroup", "GroupName")
def get_group(call: RpcCall) -> dict[str, Any]:
    """A group."""
    return {"Group": group_json(service(call).get_group(call.params.req("GroupName")))}


@action("UpdateGroup", "GroupName", "NewGroupName", "NewComments")
def update_group(call: RpcCall) -> dict[str, Any]:
    """Rename a group or change its comments (absent: unchanged)."""
    p = call.params
    group = service(call).update_group(
        p.req("GroupName"), new_name=p.opt("NewGroupName") or None, comments=p.opt("NewComments")
    )
    return {"Group": group_json(group)}


@action("DeleteGroup", "GroupName")
def delete_group(call: RpcCall) -> dict[str, Any]:
    """Delete a group (refused while it has members or policies)."""
    service(call).delete_group(call.params.req("GroupName"))
    return {}


@action("ListGroups", "Marker", "MaxItems")
def list_groups(call: RpcCall) -> dict[str, Any]:
    """The groups, by name, a page at a time."""
    page = service(call).list_groups(marker=marker(call), max_items_=max_items(call))
    return paged("Groups", "Group", map(group_json, page.items), page.next_token)


@action("AddUserToGroup", "UserName", "GroupName")
def add_user_to_group(call: RpcCall) -> dict[str, Any]:
    """Make a user a member of a group."""
    service(call).add_user_to_group(call.params.req("UserName"), call.params.req("GroupName"))
    return {}


@action("RemoveUserFromGroup", "UserName", "GroupName")
def remove_user_from_group(call: RpcCall) -> dict[str, Any]:
    """Take a user out of a group."""
    service(call).remove_user_from_group(call.params.req("UserName"), call.params.req("GroupName"))
    return {}


@action("ListGroupsForUser", "UserName")
def list_groups_for_user(call: RpcCall) -> dict[str, Any]:
    """The groups a user belongs to, with the date it joined each."""
    groups = service(call).list_groups_for_user(call.params.req("UserName"))
    return wrapped("Groups", "Group", map(group_json, groups))


@action("ListUsersForGroup", "GroupName", "Marker", "MaxItems")
def list_users_for_group(call: RpcCall) -> dict[str, Any]:
    """A group's members, a page at a time (without the date each joined: it is not kept)."""
    page = service(call).list_users_for_group(
        call.params.req("GroupName"), marker=marker(call), max_items_=max_items(call)
    )
    return paged("Users", "User", map(user_json, page.items), page.next_token)
