"""STS's own errors (codes as STS answers them; all :class:`tidegate.errors.AuthError`).

Their HTTP statuses are in the RPC front door's one mapping (``tidegate.api.rpc_errors.STATUS_BY_CODE``).
"""

from __future__ import annotations

from tidegate.errors import AuthError

__all__ = [
    "EntityNotExistRole",
    "InvalidDurationSeconds",
    "InvalidExternalId",
    "InvalidPolicyGrammar",
    "InvalidRoleArn",
    "InvalidRoleSessionName",
    "MissingRoleArn",
    "MissingRoleSessionName",
    "NoPermission",
    "StsError",
    "UnsupportedParameter",
]


class StsError(AuthError):
    """STS refused the request."""

    code = "InvalidParameter"


class MissingRoleArn(StsError):
    """RoleArn is mandatory for this action."""

    code = "MissingRoleArn"


class MissingRoleSessionName(StsError):
    """RoleSessionName is mandatory for this action."""

    code = "MissingRoleSessionName"


class InvalidRoleArn(StsError):
    """The parameter RoleArn is wrongly formed."""

    code = "InvalidParameter.RoleArn"


class InvalidRoleSessionName(StsError):
    """The parameter RoleSessionName is wrongly formed."""

    code = "InvalidParameter.RoleSessionName"


class InvalidDurationSeconds(StsError):
    """The Min/Max value of DurationSeconds is 15min/1hr."""

    code = "InvalidParameter.DurationSeconds"


class InvalidExternalId(StsError):
    """The parameter ExternalId is wrongly formed."""

    code = "InvalidParameter.ExternalId"


class InvalidPolicyGrammar(StsError):
    """The parameter Policy has not passed grammar check."""

    code = "InvalidParameter.PolicyGrammar"


class UnsupportedParameter(StsError):
    """This server does not support the parameter."""

    def __init__(self, name: str) -> None:
        super().__init__(f"The parameter {name} is not supported by this server.")


class EntityNotExistRole(StsError):
    """The specified Role not exists."""

    code = "EntityNotExist.Role"


class NoPermission(StsError):
    """You are not authorized to do this action. You should be authorized by RAM."""

    code = "NoPermission"
