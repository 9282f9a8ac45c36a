"""FnF RPC errors: protocol-level error classes and the ONE mapping from tidegate errors to responses.

Everything a handler raises reaches :func:`rpc_error` (docs/api.md, Errors): the body is
``{"RequestId", "HostId", "Code", "Message"}`` and the status comes from :data:`STATUS_BY_CODE`; RAM's errors
(:class:`tidegate.ram.errors.RamError`) carry their own code and status, and a policy document that does not
parse is ``MalformedPolicyDocument``, 400.
Unexpected exceptions become 500 ``InternalServerError`` without leaking their text.
"""

from __future__ import annotations

import logging

from tidegate.auth.policy import MalformedPolicyDocument
from tidegate.errors import AuthError, ConflictError, NotFoundError, TidegateError
from tidegate.ram.errors import RamError

__all__ = [
    "ActionNotSupported",
    "ApiVersionNotSupported",
    "EntityTooLarge",
    "MissingRequiredParams",
    "RequestTimeTooSkewed",
    "RpcProtocolError",
    "SignatureNonceUsed",
    "SignatureNotMatch",
    "rpc_error",
]

log = logging.getLogger("tidegate.api")


class RpcProtocolError(TidegateError):
    """The request does not follow the RPC protocol."""

    code = "InvalidArgument"


class ActionNotSupported(RpcProtocolError):
    """The requested API operation is incorrect."""

    code = "ActionNotSupported"

    def __init__(self, action: str) -> None:
        super().__init__(f"The requested API operation '{action[:128]}' is incorrect. Please check.")


class ApiVersionNotSupported(RpcProtocolError):
    """The requested API version is not supported."""

    code = "APIVersionNotSupported"

    def __init__(self, version: str) -> None:
        super().__init__(f"The requested API version '{version[:64]}' is not supported yet. Please check.")


class MissingRequiredParams(RpcProtocolError):
    """A required parameter is missing."""

    code = "MissingRequiredParams"

    def __init__(self, name: str) -> None:
        super().__init__(f"The HTTP query '{name}' must be specified.")


class EntityTooLarge(RpcProtocolError):
    """The payload is too large."""

    code = "EntityTooLarge"

    def __init__(self, limit: int) -> None:
        super().__init__(f"The payload size exceeds maximum allowed size ({limit} bytes).")


class SignatureNotMatch(AuthError):
    """The request signature does not match."""

    code = "SignatureNotMatch"

    def __init__(self) -> None:
        super().__init__(
            "The request signature we calculated does not match the signature you provided. "
            "Check your access key and signing method."
        )


class RequestTimeTooSkewed(AuthError):
    """The request time is too far from the server time."""

    code = "RequestTimeTooSkewed"


class SignatureNonceUsed(AuthError):
    """The SignatureNonce was used by another request within the last 15 minutes."""

    code = "SignatureNonceUsed"


#: FnF code (and the codes of the other RPC products: STS) → HTTP status. Codes of tidegate errors that
#: differ from FnF's are renamed in _RENAME.
STATUS_BY_CODE: dict[str, int] = {
    "ActionNotSupported": 400,
    "APIVersionNotSupported": 400,
    "EntityTooLarge": 400,
    "InvalidArgument": 400,
    "MissingRequiredParams": 400,
    "TaskAlreadyCompleted": 400,
    "ExecutionAlreadyExists": 400,
    "Unauthorized": 401,
    "AccessDenied": 403,
    "InvalidAccessKeyID": 403,
    "InvalidSecurityToken.Malformed": 403,
    "InvalidSecurityToken.Expired": 403,
    "RequestTimeTooSkewed": 403,
    "SignatureNotMatch": 403,
    "SignatureNonceUsed": 403,
    "FlowNotExists": 404,
    "ExecutionNotExists": 404,
    "ScheduleNotExists": 404,
    "FlowAlreadyExists": 409,
    "ScheduleAlreadyExists": 409,
    # STS (2015-04-01)
    "InvalidParameter": 400,
    "InvalidParameter.DurationSeconds": 400,
    "InvalidParameter.ExternalId": 400,
    "InvalidParameter.PolicyGrammar": 400,
    "InvalidParameter.RoleArn": 400,
    "InvalidParameter.RoleSessionName": 400,
    "MissingRoleArn": 400,
    "MissingRoleSessionName": 400,
    "NoPermission": 403,
    "EntityNotExist.Role": 404,
}

_RENAME = {
    "InvalidAccessKeyId": "InvalidAccessKeyID",  # auth's protocol-neutral name → FnF's spelling
    "InvalidDateHeader": "InvalidArgument",  # a malformed Timestamp
    "InvalidDefinition": "InvalidArgument",
}


def rpc_error(exc: BaseException) -> tuple[int, str, str]:
    """Map any exception to ``(HTTP status, FnF Code, Message)``."""
    if isinstance(exc, RamError):  # RAM's own codes, each with its status
        return exc.status, exc.code, exc.message
    if isinstance(exc, MalformedPolicyDocument):
        return 400, exc.code, exc.message
    if isinstance(exc, TidegateError):
        code = _RENAME.get(exc.code, exc.code)
        status = STATUS_BY_CODE.get(code)
        if status is not None:
            return status, code, exc.message
        if isinstance(exc, NotFoundError):
            return 404, code, exc.message
        if isinstance(exc, ConflictError):
            return 409, code, exc.message
        if isinstance(exc, AuthError):
            return 403, code, exc.message
    log.exception("internal error", exc_info=exc)
    return 500, "InternalServerError", "An internal error has occurred. Please retry."
