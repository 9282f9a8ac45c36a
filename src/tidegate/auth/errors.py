"""Errors of the auth package (all :class:`tidegate.errors.AuthError`).

``code`` is a protocol-neutral stable name; the API layer maps it to the MNS or FnF code and status
(e.g. ``InvalidAccessKeyId`` is MNS ``InvalidAccessKeyId`` 403 and FnF ``InvalidAccessKeyID`` 403).
"""

from __future__ import annotations

from tidegate.errors import AuthError


class MissingAuthorizationHeader(AuthError):
    """The request carries no Authorization header."""

    code = "MissingAuthorizationHeader"


class InvalidAuthorizationHeader(AuthError):
    """The Authorization header is malformed."""

    code = "InvalidAuthorizationHeader"


class InvalidDateHeader(AuthError):
    """The request date is malformed."""

    code = "InvalidDateHeader"


class MalformedRequest(AuthError):
    """The request parameters could not be parsed."""

    code = "InvalidArgument"


class InvalidAccessKeyId(AuthError):
    """The AccessKey ID is unknown."""

    code = "InvalidAccessKeyId"


class InvalidSecurityToken(AuthError):
    """The security token is malformed, forged or does not belong to the AccessKey ID."""

    code = "InvalidSecurityToken.Malformed"


class SecurityTokenExpired(InvalidSecurityToken):
    """The security token has expired."""

    code = "InvalidSecurityToken.Expired"


class InvalidTaskToken(AuthError):
    """The task token is not valid."""

    # FnF documents no code for a garbled token; InvalidArgument (400) is in its common table and
    # both SDKs map it to an ordinary client error.
    code = "InvalidArgument"
