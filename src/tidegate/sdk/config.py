"""Where the services are and the key to sign with: from arguments, else from the environment.

Endpoints, first that applies:

1. ``mns_endpoint`` / ``fnf_endpoint`` given, or ``endpoint`` for both (a tidegate server serves both);
2. ``TIDEGATE_ENDPOINT`` (what ``tidegate env`` exports): both;
3. Alibaba Cloud's public endpoints from the region and account id: ``https://ACCOUNT.mns.REGION.aliyuncs.com``
   and ``https://REGION.fnf.aliyuncs.com``. Region: ``region`` or ``ALIBABA_CLOUD_REGION_ID`` or ``REGION``;
   account id: ``account_id`` or ``ALIBABA_CLOUD_ACCOUNT_ID`` or ``ACCOUNT_ID``.

Credentials: ``credentials`` given (a :class:`Credentials`, or a callable returning one, asked before every
request, for keys that are refreshed, e.g. STS AssumeRole); else the environment:
``ALIBABA_CLOUD_ACCESS_KEY_ID`` / ``ALIBABA_CLOUD_ACCESS_KEY_SECRET`` / ``ALIBABA_CLOUD_SECURITY_TOKEN``
(temporary STS credentials), or ``TIDEGATE_ACCESS_KEY_ID`` / ``TIDEGATE_ACCESS_KEY_SECRET``. When the
endpoint came from ``TIDEGATE_ENDPOINT`` the ``TIDEGATE_*`` keys are tried first.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from tidegate.sdk.errors import ConfigError, MissingCredentials

__all__ = ["ClientConfig", "Credentials", "CredentialsProvider"]

ENV_ENDPOINT = "TIDEGATE_ENDPOINT"
_ALIBABA_KEYS = ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN")
_TIDEGATE_KEYS = ("TIDEGATE_ACCESS_KEY_ID", "TIDEGATE_ACCESS_KEY_SECRET", "")
#: The region RPC requests name when none is configured (tidegate ignores it; Alibaba Cloud needs the right one).
DEFAULT_REGION = "cn-hangzhou"


@dataclass(frozen=True, slots=True)
class Credentials:
    """An AccessKey, with the security token of temporary (STS) credentials."""

    access_key_id: str
    access_key_secret: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)


#: Static credentials, or a callable asked before every request (it should cache what it fetches).
CredentialsProvider = Credentials | Callable[[], Credentials]


def _check_url(name: str, url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(f"the {name} {url!r} is not an http:// or https:// URL of a host")
    return url.strip().rstrip("/")


def _env_credentials(env: Mapping[str, str], tidegate_first: bool) -> Credentials | None:
    order = (_TIDEGATE_KEYS, _ALIBABA_KEYS) if tidegate_first else (_ALIBABA_KEYS, _TIDEGATE_KEYS)
    for id_var, secret_var, token_var in order:
        key_id, secret = env.get(id_var), env.get(secret_var)
        if key_id and secret:
            return Credentials(key_id, secret, (env.get(token_var) or None) if token_var else None)
        if key_id or secret:
            raise ConfigError(f"set both {id_var} and {secret_var}, or neither")
    return None


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """The two endpoints, the region named in RPC requests, and the credentials.

    Build it with :meth:`from_env`, which applies the rules of this module's docstring.
    """

    mns_endpoint: str
    fnf_endpoint: str
    credentials: CredentialsProvider = field(repr=False)
    region: str = DEFAULT_REGION

    def current_credentials(self) -> Credentials:
        """The credentials to sign the next request with."""
        c = self.credentials
        return c if isinstance(c, Credentials) else c()

    @classmethod
    def from_env(
        cls,
        *,
        endpoint: str | None = None,
        mns_endpoint: str | None = None,
        fnf_endpoint: str | None = None,
        region: str | None = None,
        account_id: str | None = None,
        credentials: CredentialsProvider | None = None,
        env: Mapping[str, str] | None = None,
    ) -> ClientConfig:
        """Arguments first, then the environment (``env``, default ``os.environ``).

        Raises:
            ConfigError: no endpoint can be found, an endpoint is not a URL, or no credentials.
        """
        env = os.environ if env is None else env
        region = region or env.get("ALIBABA_CLOUD_REGION_ID") or env.get("REGION") or None
        from_tidegate_env = False
        if endpoint is None and (mns_endpoint is None or fnf_endpoint is None) and env.get(ENV_ENDPOINT):
            endpoint, from_tidegate_env = env[ENV_ENDPOINT], True
        mns = mns_endpoint or endpoint
        fnf = fnf_endpoint or endpoint
        if mns is None or fnf is None:
            account = account_id or env.get("ALIBABA_CLOUD_ACCOUNT_ID") or env.get("ACCOUNT_ID")
            if region is None or (mns is None and not account):
                raise ConfigError(
                    "no endpoint: pass endpoint= (or mns_endpoint= and fnf_endpoint=), set TIDEGATE_ENDPOINT, or "
                    "set ALIBABA_CLOUD_REGION_ID and ALIBABA_CLOUD_ACCOUNT_ID for Alibaba Cloud's endpoints"
                )
            mns = mns or f"https://{account}.mns.{region}.aliyuncs.com"
            fnf = fnf or f"https://{region}.fnf.aliyuncs.com"
        if credentials is None:
            credentials = _env_credentials(env, tidegate_first=from_tidegate_env)
            if credentials is None:
                raise MissingCredentials(
                    "no credentials: pass credentials=, or set ALIBABA_CLOUD_ACCESS_KEY_ID and "
                    "ALIBABA_CLOUD_ACCESS_KEY_SECRET (and ALIBABA_CLOUD_SECURITY_TOKEN for STS credentials), or "
                    'TIDEGATE_ACCESS_KEY_ID and TIDEGATE_ACCESS_KEY_SECRET (`eval "$(tidegate env)"`)'
                )
        return cls(
            _check_url("MNS endpoint", mns),
            _check_url("FnF endpoint", fnf),
            credentials,
            region or DEFAULT_REGION,
        )
