"""tidegate.auth: access keys, request signatures (MNS, RPC, ACS3), push signing, task tokens.

See ``docs/auth.md``. Submodules: :mod:`~tidegate.auth.signatures`, :mod:`~tidegate.auth.acs3`,
:mod:`~tidegate.auth.keys`, :mod:`~tidegate.auth.tasktoken`, :mod:`~tidegate.auth.push`,
:mod:`~tidegate.auth.errors`.
"""

from __future__ import annotations

from tidegate.auth.acs3 import verify_acs3
from tidegate.auth.errors import (
    InvalidAccessKeyId,
    InvalidAuthorizationHeader,
    InvalidDateHeader,
    InvalidSecurityToken,
    InvalidTaskToken,
    MalformedRequest,
    MissingAuthorizationHeader,
    SecurityTokenExpired,
)
from tidegate.auth.keys import (
    AccessKey,
    KeyKind,
    KeyRing,
    derive_key,
    generate_access_key,
    issue_temporary,
    load_or_create_root_key,
)
from tidegate.auth.push import (
    PushIdentity,
    load_or_create_push_identity,
    sign_push,
    signed_push_headers,
    verify_push,
)
from tidegate.auth.signatures import (
    content_md5_ok,
    mns_date_skew_ok,
    mns_string_to_sign,
    parse_mns_authorization,
    parse_rpc_request,
    rpc_percent_encode,
    rpc_string_to_sign,
    rpc_timestamp_ok,
    sign_mns,
    sign_rpc,
    verify_mns,
    verify_rpc,
)
from tidegate.auth.tasktoken import TaskTokenSigner

__all__ = [
    "AccessKey",
    "InvalidAccessKeyId",
    "InvalidAuthorizationHeader",
    "InvalidDateHeader",
    "InvalidSecurityToken",
    "InvalidTaskToken",
    "KeyKind",
    "KeyRing",
    "MalformedRequest",
    "MissingAuthorizationHeader",
    "PushIdentity",
    "SecurityTokenExpired",
    "TaskTokenSigner",
    "content_md5_ok",
    "derive_key",
    "generate_access_key",
    "issue_temporary",
    "load_or_create_push_identity",
    "load_or_create_root_key",
    "mns_date_skew_ok",
    "mns_string_to_sign",
    "parse_mns_authorization",
    "parse_rpc_request",
    "rpc_percent_encode",
    "rpc_string_to_sign",
    "rpc_timestamp_ok",
    "sign_mns",
    "sign_push",
    "sign_rpc",
    "signed_push_headers",
    "verify_acs3",
    "verify_mns",
    "verify_push",
    "verify_rpc",
]
