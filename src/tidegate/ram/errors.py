"""RAM's own errors: each class's ``code`` and docstring are RAM's error code and message, ``status`` its HTTP
status (as RAM's API answers them). Every one is a :class:`RamError`, a :class:`tidegate.errors.AuthError`.
"""

from __future__ import annotations

import functools
from typing import ClassVar

from tidegate.errors import AuthError

__all__ = [
    "DeleteConflict",
    "EntityAlreadyExists",
    "EntityNotExist",
    "InvalidParameter",
    "LimitExceeded",
    "RamError",
    "invalid_parameter",
]


class RamError(AuthError):
    """The RAM request could not be completed."""

    code = "InvalidParameter"
    #: The HTTP status RAM answers with.
    status: ClassVar[int] = 400


class InvalidParameter(RamError):
    """The parameter is invalid."""

    code = "InvalidParameter"


@functools.cache
def _parameter_class(code: str) -> type[InvalidParameter]:
    return type("InvalidParameter_" + code.replace(".", "_"), (InvalidParameter,), {"code": code})


def invalid_parameter(name: str, problem: str = "InvalidChars", message: str | None = None) -> InvalidParameter:
    """RAM's ``InvalidParameter.<Name>.<Problem>`` error (``InvalidChars``, ``Length``, ``Format``…).

    The default messages are RAM's: ``The parameter - "UserName" contains invalid chars.`` and
    ``The parameter - "UserName" beyond the length limit.``
    """
    if message is None:
        if problem == "Length":
            message = f'The parameter - "{name}" beyond the length limit.'
        elif problem == "InvalidChars":
            message = f'The parameter - "{name}" contains invalid chars.'
        else:
            message = f'The parameter - "{name}" is invalid.'
    return _parameter_class(f"InvalidParameter.{name}.{problem}")(message)


class EntityNotExist(RamError):
    """The entity does not exist."""

    code = "EntityNotExist"
    status = 404


class UserNotExist(EntityNotExist):
    """The user does not exist."""

    code = "EntityNotExist.User"


class GroupNotExist(EntityNotExist):
    """The group does not exist."""

    code = "EntityNotExist.Group"


class RoleNotExist(EntityNotExist):
    """The role does not exist."""

    code = "EntityNotExist.Role"


class PolicyNotExist(EntityNotExist):
    """The policy does not exist."""

    code = "EntityNotExist.Policy"


class PolicyVersionNotExist(EntityNotExist):
    """The policy version does not exist."""

    code = "EntityNotExist.Policy.Version"


class AccessKeyNotExist(EntityNotExist):
    """The AccessKey does not exist."""

    code = "EntityNotExist.User.AccessKey"


class UserNotInGroup(EntityNotExist):
    """The user does not belong to the group."""

    code = "EntityNotExist.User.Group"


class PolicyNotAttachedToUser(EntityNotExist):
    """The policy is not attached to the user."""

    code = "EntityNotExist.User.Policy"


class PolicyNotAttachedToGroup(EntityNotExist):
    """The policy is not attached to the group."""

    code = "EntityNotExist.Group.Policy"


class PolicyNotAttachedToRole(EntityNotExist):
    """The policy is not attached to the role."""

    code = "EntityNotExist.Role.Policy"


class EntityAlreadyExists(RamError):
    """The entity already exists."""

    code = "EntityAlreadyExists"
    status = 409


class UserAlreadyExists(EntityAlreadyExists):
    """The user does already EXIST."""

    code = "EntityAlreadyExists.User"


class GroupAlreadyExists(EntityAlreadyExists):
    """The group does already EXIST."""

    code = "EntityAlreadyExists.Group"


class RoleAlreadyExists(EntityAlreadyExists):
    """The role does already EXIST."""

    code = "EntityAlreadyExists.Role"


class PolicyAlreadyExists(EntityAlreadyExists):
    """The policy does already EXIST."""

    code = "EntityAlreadyExists.Policy"


class UserAlreadyInGroup(EntityAlreadyExists):
    """The user has already belonged to the group."""

    code = "EntityAlreadyExists.User.Group"


class PolicyAlreadyAttachedToUser(EntityAlreadyExists):
    """The policy has already been attached to the user."""

    code = "EntityAlreadyExists.User.Policy"


class PolicyAlreadyAttachedToGroup(EntityAlreadyExists):
    """The policy has already been attached to the group."""

    code = "EntityAlreadyExists.Group.Policy"


class PolicyAlreadyAttachedToRole(EntityAlreadyExists):
    """The policy has already been attached to the role."""

    code = "EntityAlreadyExists.Role.Policy"


class DeleteConflict(RamError):
    """The entity cannot be deleted while others depend on it."""

    code = "DeleteConflict"
    status = 409


class UserHasAccessKeys(DeleteConflict):
    """The user CAN NOT has any access key while deleting the user."""

    code = "DeleteConflict.User.AccessKey"


class UserInGroups(DeleteConflict):
    """The user CAN NOT be in any group while deleting the user."""

    code = "DeleteConflict.User.Group"


class UserHasPolicies(DeleteConflict):
    """The user CAN NOT has any attached policy while deleting the user."""

    code = "DeleteConflict.User.Policy"


class GroupHasUsers(DeleteConflict):
    """The group CAN NOT has any user member while deleting the group."""

    code = "DeleteConflict.Group.User"


class GroupHasPolicies(DeleteConflict):
    """The group CAN NOT has any attached policy while deleting the group."""

    code = "DeleteConflict.Group.Policy"


class RoleHasPolicies(DeleteConflict):
    """The role CAN NOT has any attached policy while deleting the role."""

    code = "DeleteConflict.Role.Policy"


class PolicyAttachedToUser(DeleteConflict):
    """The policy CAN NOT been attached to any user while deleting the policy."""

    code = "DeleteConflict.Policy.User"


class PolicyAttachedToGroup(DeleteConflict):
    """The policy CAN NOT been attached to any group while deleting the policy."""

    code = "DeleteConflict.Policy.Group"


class PolicyAttachedToRole(DeleteConflict):
    """The policy CAN NOT been attached to any role while deleting the policy."""

    code = "DeleteConflict.Policy.Role"


class PolicyHasVersions(DeleteConflict):
    """The policy CAN NOT has any version except the default version."""

    code = "DeleteConflict.Policy.Version"


class DefaultVersionUndeletable(DeleteConflict):
    """You cannot delete the default policy version."""

    code = "DeleteConflict.Policy.Version.Default"


class LimitExceeded(RamError):
    """The count of entities beyond the current limits."""

    code = "LimitExceeded"
    status = 409


class AccessKeyLimitExceeded(LimitExceeded):
    """The count of access keys beyond the current limits."""

    code = "LimitExceeded.User.AccessKey"


class PolicyVersionLimitExceeded(LimitExceeded):
    """The count of policy versions beyond the current limits."""

    code = "LimitExceeded.Policy.Version"


class SystemPolicyReadOnly(RamError):
    """System policies cannot be changed or deleted."""

    code = "NoPermission.SystemPolicy"
    status = 403
