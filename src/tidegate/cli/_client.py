"""How every client command finds the server and its key, talks to it, and reports what went wrong.

Endpoint: ``--endpoint``, else ``TIDEGATE_ENDPOINT`` (what ``tidegate env`` exports), else
``http://127.0.0.1:8787``; it must be an ``http://`` or ``https://`` URL.

AccessKey, first that applies:

1. ``--access-key-id`` and ``--access-key-secret``, or ``TIDEGATE_ACCESS_KEY_ID`` and
   ``TIDEGATE_ACCESS_KEY_SECRET`` (flags win over variables; both halves are needed);
2. the root key in the server's data folder, ``DATA/root-key.json``: the folder given with ``--data``, or
   ``.tidegate`` when the endpoint is on this machine (a loopback address or ``localhost``). The default
   folder is not read for a remote endpoint, so a local key is never sent to another host by accident.

Errors become one line on stderr (:func:`cli_error`) with the exit codes of :class:`ExitCode`; the root
command's ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import functools
import ipaddress
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import click
import httpx

from tidegate.auth.keys import ENV_ID, ENV_SECRET, ROOT_KEY_FILE, load_or_create_root_key
from tidegate.errors import ConfigurationError, StoreError, StoreUnavailable, TidegateError
from tidegate.mq.client import MnsClient, MnsClientError

__all__ = [
    "DEFAULT_DATA",
    "DEFAULT_ENDPOINT",
    "ENV_ENDPOINT",
    "ApiClient",
    "CliError",
    "Connection",
    "ExitCode",
    "RemoteError",
    "Unreachable",
    "UsageFailure",
    "check_endpoint",
    "cli_error",
    "connection_options",
    "echo_json",
    "resolve_connection",
]

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_ENDPOINT = "http://127.0.0.1:8787"
DEFAULT_DATA = Path(".tidegate")
ENV_ENDPOINT = "TIDEGATE_ENDPOINT"
#: Error codes that mean "wrong or unknown key" (REST, RPC and MNS spellings).
_AUTH_CODES = frozenset(
    {"Unauthorized", "InvalidAccessKeyId", "InvalidAccessKeyID", "SignatureDoesNotMatch", "SignatureNotMatch"}
)
_KEY_HINT = f"check the access key: --access-key-id/--access-key-secret, {ENV_ID}/{ENV_SECRET} or --data"


class ExitCode(IntEnum):
    """Exit codes of every command (docs/cli.md)."""

    OK = 0
    #: The server refused the request, or the execution did not succeed (``--wait``).
    FAILED = 1
    #: A usage or configuration error: a bad option value, an endpoint that is not a URL, no access key.
    USAGE = 2
    #: The server could not be reached (refused, timed out, name not resolved); for ``tidegate server``:
    #: its store could not be reached.
    UNREACHABLE = 3


class CliError(click.ClickException):
    """An error for people: ``Error: <message>`` on stderr, exit code 1."""

    exit_code = ExitCode.FAILED


class UsageFailure(CliError):
    """A bad option value, an endpoint that is not a URL, no access key: exit code 2."""

    exit_code = ExitCode.USAGE


class Unreachable(CliError):
    """The server could not be reached: exit code 3."""

    exit_code = ExitCode.UNREACHABLE


class RemoteError(TidegateError):
    """The server answered a REST request with an error."""

    code = "RemoteError"

    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(f"{error_code}: {message}" if message else error_code)
        self.status = status
        self.error_code = error_code


@dataclass(frozen=True, slots=True)
class Connection:
    """Where the server is and the key to sign with."""

    endpoint: str
    access_key_id: str
    access_key_secret: str = field(repr=False)

    def mns(self, timeout: float = 60.0) -> MnsClient:
        """A signed MNS client (queues, topics)."""
        return MnsClient(self.endpoint, self.access_key_id, self.access_key_secret, timeout=timeout)

    def api(self, timeout: float = 30.0) -> ApiClient:
        """A client of the REST API (``/api/v1``)."""
        return ApiClient(self, timeout=timeout)


def check_endpoint(endpoint: str) -> str:
    """Return ``endpoint`` without a trailing slash, or raise :class:`CliError` when it is not a server URL."""
    text = endpoint.strip()
    try:
        parts = urlsplit(text)
        port_ok = parts.port is None or parts.port > 0
    except ValueError as exc:
        raise UsageFailure(f"the endpoint {endpoint!r} is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        hint = f": did you mean http://{text}?" if "://" not in text and text else ""
        raise UsageFailure(f"the endpoint {endpoint!r} is not an http:// or https:// URL{hint}") from None
    if not port_ok or parts.query or parts.fragment:
        raise UsageFailure(f"the endpoint {endpoint!r} must be scheme://host[:port][/path]")
    return text.rstrip("/")


def _is_local(endpoint: str) -> bool:
    host = urlsplit(endpoint).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_connection(
    endpoint: str,
    access_key_id: str | None,
    access_key_secret: str | None,
    data_dir: Path | None,
) -> Connection:
    """Apply the rules of the module docstring.

    Args:
        endpoint: the ``--endpoint`` value (already defaulted from ``TIDEGATE_ENDPOINT``).
        access_key_id: ``--access-key-id`` / ``TIDEGATE_ACCESS_KEY_ID``, or None.
        access_key_secret: ``--access-key-secret`` / ``TIDEGATE_ACCESS_KEY_SECRET``, or None.
        data_dir: ``--data`` when given, else None.

    Raises:
        CliError: a bad endpoint, half a key, an unreadable key file, or no key at all (exit code 2).
    """
    url = check_endpoint(endpoint)
    if access_key_id or access_key_secret:
        if not (access_key_id and access_key_secret):
            raise UsageFailure(
                f"give both --access-key-id and --access-key-secret (or {ENV_ID} and {ENV_SECRET}), or neither"
            )
        return Connection(url, access_key_id, access_key_secret)
    folder = data_dir if data_dir is not None else (DEFAULT_DATA if _is_local(url) else None)
    if folder is None:
        raise UsageFailure(
            f"no access key for {url}: pass --access-key-id and --access-key-secret, set {ENV_ID} and "
            f"{ENV_SECRET}, or point --data at the server's data folder"
        )
    if not (folder / ROOT_KEY_FILE).is_file():
        raise UsageFailure(
            f"no access key: {folder / ROOT_KEY_FILE} does not exist (start `tidegate server --data {folder}` "
            f"once, point --data at the server's data folder, or set {ENV_ID} and {ENV_SECRET})"
        )
    try:
        key, _ = load_or_create_root_key(folder, {})
    except ConfigurationError as exc:
        raise UsageFailure(exc.message) from None
    return Connection(url, key.id, key.secret)


def connection_options(f: F) -> F:
    """Add ``--endpoint``, ``--access-key-id``, ``--access-key-secret`` and ``--data``; pass ``conn``.

    The decorated command receives one keyword argument ``conn`` (a :class:`Connection`) instead of the
    four options.
    """

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        conn = resolve_connection(
            kwargs.pop("endpoint"),
            kwargs.pop("access_key_id"),
            kwargs.pop("access_key_secret"),
            kwargs.pop("data_dir"),
        )
        return f(*args, conn=conn, **kwargs)

    decorated: Callable[..., Any] = wrapper
    for option in reversed(_OPTIONS):
        decorated = option(decorated)
    return decorated  # type: ignore[return-value]


_OPTIONS = [
    click.option(
        "--endpoint",
        envvar=ENV_ENDPOINT,
        default=DEFAULT_ENDPOINT,
        show_default=True,
        help=f"The server's URL [env {ENV_ENDPOINT}].",
    ),
    click.option("--access-key-id", envvar=ENV_ID, help=f"AccessKey ID [env {ENV_ID}].", metavar="ID"),
    click.option(
        "--access-key-secret", envvar=ENV_SECRET, help=f"AccessKey secret [env {ENV_SECRET}].", metavar="SECRET"
    ),
    click.option(
        "--data",
        "data_dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="The server's data folder, for its root key when no key is given [default: .tidegate, when "
        "the endpoint is on this machine].",
    ),
]


class ApiClient:
    """A client of the REST API (``/api/v1``): JSON in, JSON out, HTTP Basic with the AccessKey.

    Args:
        conn: endpoint and key.
        timeout: seconds per request (a request may pass its own).
    """

    def __init__(self, conn: Connection, timeout: float = 30.0) -> None:
        self.conn = conn
        self._http = httpx.Client(
            base_url=conn.endpoint + "/api/v1",
            auth=(conn.access_key_id, conn.access_key_secret),
            timeout=timeout,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str | int] | None = None,
        timeout: float | None = None,
    ) -> tuple[int, Any]:
        """Send one request; return the status and the parsed JSON body (None when empty).

        Raises:
            RemoteError: a 4xx/5xx answer (its ``code`` and ``message``).
            httpx.HTTPError: the server could not be reached.
        """
        extra: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        resp = self._http.request(method, path, json=body, params=params, **extra)
        if resp.status_code >= 400:
            try:
                err = resp.json()
                code, message = str(err["code"]), str(err.get("message") or "")
            except (ValueError, KeyError, TypeError):
                code, message = f"HTTP {resp.status_code}", " ".join(resp.text.split())[:200]
            raise RemoteError(resp.status_code, code, message)
        if not resp.content:
            return resp.status_code, None
        try:
            return resp.status_code, resp.json()
        except ValueError:
            raise RemoteError(resp.status_code, "BadResponse", "the server's answer is not JSON") from None


def _origin(exc: httpx.HTTPError) -> str:
    try:
        url = exc.request.url
    except RuntimeError:
        return "the server"
    return f"{url.scheme}://{url.netloc.decode('ascii', 'replace')}"


def cli_error(exc: Exception) -> click.ClickException:
    """Turn any error a client command can meet into one line for people (and an exit code)."""
    if isinstance(exc, click.ClickException):
        return exc
    if isinstance(exc, httpx.ConnectError):
        return Unreachable(f"cannot reach the server at {_origin(exc)}: {exc}")
    if isinstance(exc, httpx.TimeoutException):
        return Unreachable(f"the server at {_origin(exc)} did not answer in time ({exc})")
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return UsageFailure(f"not a usable endpoint URL: {exc}")
    if isinstance(exc, httpx.HTTPError):
        return Unreachable(f"the connection to {_origin(exc)} failed: {exc}")
    if isinstance(exc, MnsClientError | RemoteError):
        # Both messages already read "Code: message"; say it once.
        hint = f" ({_KEY_HINT})" if exc.error_code in _AUTH_CODES else ""
        return CliError(exc.message + hint)
    if isinstance(exc, ConfigurationError):
        return UsageFailure(_one_line(exc.message))
    if isinstance(exc, StoreUnavailable):
        return Unreachable(_one_line(exc.message))
    if isinstance(exc, StoreError | OSError):
        return CliError(_one_line(str(exc)))
    if isinstance(exc, TidegateError):
        return CliError(exc.message)  # may list one problem per line (a flow definition's issues)
    return CliError(
        f"unexpected {type(exc).__name__}: {_one_line(str(exc))} (run `tidegate --debug ...` for the traceback)"
    )


def _one_line(text: str) -> str:
    """Join a message's lines (a database driver's error spans several) with "; "."""
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def echo_json(doc: Any) -> None:
    """Print ``doc`` as indented JSON (the ``--json`` output of every command)."""
    click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
