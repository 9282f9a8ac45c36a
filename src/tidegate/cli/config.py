"""The settings of ``tidegate server``, declared once: flags, ``TIDEGATE_*`` variables and config file keys.

Each field of :class:`ServerConfig` is one setting. Its name gives the three spellings: the field
``keep_alive_timeout`` is the flag ``--keep-alive-timeout``, the variable ``TIDEGATE_KEEP_ALIVE_TIMEOUT``
and the key ``keep-alive-timeout`` of the TOML file given with ``--config``. Where a setting is given more
than once, the flag wins over the variable, the variable over the file, the file over the default.

:func:`server_settings` turns the declaration into click options (a bad value names where it came from:
``Invalid value for TIDEGATE_PORT: …``); ``--config FILE`` (or ``TIDEGATE_CONFIG``) is read first and
its values become the command's defaults. A key the file does not know is refused, with the closest known
key as a hint; so is a value of the wrong TOML type. docs/configuration.md lists every setting (a test
checks it against this declaration). To add a setting, add a field here: the option, the variable, the key
and the summary of ``--check`` follow.
"""

from __future__ import annotations

import difflib
import functools
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, Field, dataclass, field, fields
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import click
from click.core import ParameterSource

from tidegate.api.http_limits import BODY_TIMEOUT_S, HEADER_TIMEOUT_S, KEEP_ALIVE_S
from tidegate.auth.keys import ENV_ID, ENV_SECRET, ROOT_KEY_FILE
from tidegate.cli._client import UsageFailure, check_endpoint
from tidegate.cli.logs import LogFormat, LogLevel
from tidegate.egress import parse_entries
from tidegate.errors import ConfigurationError
from tidegate.flow.loader import MAX_FLOW_TIMEOUT
from tidegate.functions import DEFAULT_FUNCTION_UID, IsolationMode
from tidegate.runtime import DEFAULT_CALLBACK_TIMEOUT_S, DEFAULT_REGION
from tidegate.runtime.retention import DEFAULT_RETENTION, parse_retention

__all__ = [
    "ENV_CONFIG",
    "MAX_CONFIG_BYTES",
    "SETTINGS",
    "ConfigProblems",
    "ServerConfig",
    "Setting",
    "Settings",
    "load_config_file",
    "redact_url",
    "server_settings",
]

F = TypeVar("F", bound=Callable[..., Any])

ENV_PREFIX = "TIDEGATE_"
#: The variable naming the configuration file (as ``--config`` does).
ENV_CONFIG = "TIDEGATE_CONFIG"
#: A configuration file is a few hundred bytes; a larger one is refused before it is parsed.
MAX_CONFIG_BYTES = 1 << 20
#: Keys that look like settings but are deliberately not read from a file: the root key stays in the
#: environment or in ``DATA/root-key.json`` (mode 0600), never in a file that is shared or committed.
_SECRET_KEYS = frozenset({"access-key-id", "access-key-secret", "access_key_id", "access_key_secret"})


class ConfigProblems(ConfigurationError):
    """The configuration file is not usable; ``problems`` holds one line per problem."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


# --- value types ------------------------------------------------------------------------------------


class _Pattern(click.ParamType):  # type: ignore[type-arg]  # generic since click 8.2, not in 8.1
    """A string matching ``pattern`` in full."""

    def __init__(self, pattern: str, what: str) -> None:
        self.name = "text"
        self.pattern = re.compile(pattern)
        self.what = what

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        if not self.pattern.fullmatch(text):
            self.fail(f"{text[:100]!r} is not {self.what}", param, ctx)
        return text


class _Retention(click.ParamType):  # type: ignore[type-arg]
    """A retention period (``30d``, ``12h``, ``90m``, ``45s``) or ``off``."""

    name = "period"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        try:
            parse_retention(text)
        except ConfigurationError as exc:
            self.fail(exc.message, param, ctx)
        return text


class _HttpUrl(click.ParamType):  # type: ignore[type-arg]
    """An ``http://`` or ``https://`` URL without query or fragment (trailing slash removed)."""

    name = "url"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        try:
            return check_endpoint(str(value))
        except UsageFailure as exc:
            self.fail(exc.message.replace("the endpoint", "the URL"), param, ctx)


class _HostList(click.ParamType):  # type: ignore[type-arg]
    """Host names (``*.suffix`` too), addresses and CIDR networks, separated by commas or blanks."""

    name = "hosts"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        try:
            parse_entries(text, "entry")
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        return text


class _StoreUrl(click.ParamType):  # type: ignore[type-arg]
    """``sqlite:///PATH`` or ``postgresql://…`` (the scheme is checked here, the rest by the store)."""

    name = "url"
    schemes = ("sqlite", "postgresql", "postgres")

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        scheme = text.split(":", 1)[0].lower() if "://" in text else ""
        if scheme not in self.schemes:
            shown = f"scheme {scheme!r}" if scheme else f"{redact_url(text)[:100]!r}"
            self.fail(f"unknown store URL {shown}: use sqlite:///PATH or postgresql://USER@HOST:PORT/DATABASE")
        return text


class _EnumChoice(click.Choice):  # type: ignore[type-arg]  # generic since click 8.2, not in 8.1
    """One of an enum's values (case-insensitive); converts to the member."""

    def __init__(self, enum: type[Enum]) -> None:
        super().__init__([str(m.value) for m in enum], case_sensitive=False)
        self.enum = enum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, self.enum):
            return value
        return self.enum(str(super().convert(value, param, ctx)).lower())


# --- the declaration --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Setting:
    """How one field of :class:`ServerConfig` is given.

    Attributes:
        name: the field name (``keep_alive_timeout``).
        param_type: the click type that checks and converts a value, wherever it comes from.
        toml: the TOML value types accepted in the file (``bool`` is never an ``int`` here).
        help: one line for ``--help`` and the documentation.
        default: the value when nothing gives one.
        default_text: the default as the documentation says it, when None means "derived".
        flag: a boolean, given as ``--KEY``/``--no-KEY``.
        path: a path: a relative one in the file is relative to the file's folder.
    """

    name: str
    param_type: click.ParamType[Any]
    toml: tuple[type, ...]
    help: str
    default: Any
    default_text: str | None = None
    flag: bool = False
    path: bool = False

    @property
    def key(self) -> str:
        """The key in the configuration file (``keep-alive-timeout``)."""
        return self.name.replace("_", "-")

    @property
    def option(self) -> str:
        """The flag (``--keep-alive-timeout``)."""
        return f"--{self.key}"

    @property
    def env(self) -> str:
        """The environment variable (``TIDEGATE_KEEP_ALIVE_TIMEOUT``)."""
        return ENV_PREFIX + self.name.upper()

    def shown_default(self) -> str:
        """The default as ``--help`` and the documentation show it."""
        if self.default_text is not None:
            return self.default_text
        if isinstance(self.default, bool):
            return "false" if not self.default else "true"
        if isinstance(self.default, Enum):
            return str(self.default.value)
        return "none" if self.default is None else str(self.default)


def _spec(
    type_: click.ParamType[Any],
    help_: str,
    *,
    toml: tuple[type, ...] = (str,),
    default_text: str | None = None,
    flag: bool = False,
    path: bool = False,
) -> dict[str, Any]:
    """The metadata of a :class:`ServerConfig` field: its :class:`Setting` but for name and default."""
    spec = {"param_type": type_, "toml": toml, "help": help_, "default_text": default_text, "flag": flag, "path": path}
    return {"setting": spec}


_INT = (int,)
_NUMBER = (int, float)
_DIR = click.Path(file_okay=False, path_type=Path)
_EXISTING_DIR = click.Path(file_okay=False, exists=True, path_type=Path)


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Every setting of ``tidegate server``, resolved (flag > variable > file > default)."""

    host: str = field(
        default="127.0.0.1",
        metadata=_spec(
            _Pattern(r"[A-Za-z0-9.:_%-]{1,253}", "a host name or an IP address"),
            "Address to listen on (0.0.0.0 or :: for every interface).",
        ),
    )
    port: int = field(default=8787, metadata=_spec(click.IntRange(1, 65535), "Port to listen on (1-65535).", toml=_INT))
    data: Path = field(
        default=Path(".tidegate"),
        metadata=_spec(
            _DIR,
            "Data folder: the root key, deployed functions, and the SQLite store unless --store is given.",
            path=True,
        ),
    )
    store: str | None = field(
        default=None,
        metadata=_spec(
            _StoreUrl(),
            "Store URL: sqlite:///PATH or postgresql://USER@HOST:PORT/DATABASE (needs tidegate[postgres]).",
            default_text="sqlite:///DATA/tidegate.db",
        ),
    )
    functions: Path | None = field(
        default=None,
        metadata=_spec(
            _EXISTING_DIR,
            "Local functions DIR/SERVICE/FUNCTION.py (task steps on acs:fc:::services/S/functions/F).",
            path=True,
        ),
    )
    deploy: Path | None = field(
        default=None,
        metadata=_spec(
            _EXISTING_DIR,
            "Deploy every DIR/*/deploy.yaml once the server is up (as `tidegate deploy DIR` would).",
            path=True,
        ),
    )
    region: str = field(
        default=DEFAULT_REGION,
        metadata=_spec(
            _Pattern(r"[a-z][a-z0-9-]{0,62}", "a region id such as cn-hangzhou"),
            "Region the server answers as (in endpoints, ARNs and error bodies).",
        ),
    )
    account_id: str | None = field(
        default=None,
        metadata=_spec(
            _Pattern(r"[!-~]{1,256}", "1-256 printable ASCII characters without spaces"),
            "Account id (overrides the one kept with the root key).",
            default_text="the root key's, else 1234567890123456",
        ),
    )
    public_url: str | None = field(
        default=None,
        metadata=_spec(
            _HttpUrl(),
            "Base URL others reach this server at (push certificates, HTTP trigger URLs).",
            default_text="http://HOST:PORT",
        ),
    )
    header_timeout: float = field(
        default=HEADER_TIMEOUT_S,
        metadata=_spec(
            click.FloatRange(0, 3600, min_open=True),
            "Seconds a client has to send a request's line and headers.",
            toml=_NUMBER,
        ),
    )
    body_timeout: float = field(
        default=BODY_TIMEOUT_S,
        metadata=_spec(
            click.FloatRange(0, 3600, min_open=True),
            "Seconds a request body may stall (no byte arriving) before the connection is closed.",
            toml=_NUMBER,
        ),
    )
    keep_alive_timeout: int = field(
        default=KEEP_ALIVE_S,
        metadata=_spec(
            click.IntRange(1, 3600),
            "Whole seconds an idle keep-alive connection stays open between requests.",
            toml=_INT,
        ),
    )
    retention: str = field(
        default=DEFAULT_RETENTION,
        metadata=_spec(
            _Retention(),
            "How long ended executions are kept: a whole number and s, m, h or d (30d, 12h), or off (for ever).",
        ),
    )
    callback_timeout: int = field(
        default=DEFAULT_CALLBACK_TIMEOUT_S,
        metadata=_spec(
            click.IntRange(0, MAX_FLOW_TIMEOUT),
            "Seconds a waitForCallback task whose step sets no timeoutSeconds waits for its report before it "
            "fails with FnF.TaskTimeout (0: for ever); for the tasks opened from the server's start on.",
            toml=_INT,
        ),
    )
    log_level: LogLevel = field(
        default=LogLevel.INFO,
        metadata=_spec(_EnumChoice(LogLevel), "Least severe log lines written: debug, info, warning or error."),
    )
    log_format: LogFormat = field(
        default=LogFormat.TEXT,
        metadata=_spec(_EnumChoice(LogFormat), "Log lines as text, or as JSON objects (one per line)."),
    )
    access_log: bool = field(
        default=False,
        metadata=_spec(
            click.BOOL,
            "Write one log line per HTTP request: method, path, status, duration, request id.",
            toml=(bool,),
            flag=True,
        ),
    )
    metrics: bool = field(
        default=True,
        metadata=_spec(
            click.BOOL,
            "Count requests, executions, tasks, queues… and serve them on /metrics (off: neither).",
            toml=(bool,),
            flag=True,
        ),
    )
    metrics_public: bool = field(
        default=False,
        metadata=_spec(
            click.BOOL,
            "Serve /metrics without credentials (default: only to the root key, by HTTP Basic).",
            toml=(bool,),
            flag=True,
        ),
    )

    egress_allow: str | None = field(
        default=None,
        metadata=_spec(
            _HostList(),
            "Hosts and networks (CIDR) topic pushes may reach, comma-separated; when given, only these.",
            default_text="any but link-local and metadata addresses",
        ),
    )
    egress_deny: str | None = field(
        default=None,
        metadata=_spec(
            _HostList(),
            "Hosts and networks (CIDR) topic pushes may not reach, besides link-local and metadata addresses.",
        ),
    )
    allow_direct_requirements: bool = field(
        default=False,
        metadata=_spec(
            click.BOOL,
            "Let functions' requirements name a URL, a path or a file (default: projects of the package index).",
            toml=(bool,),
            flag=True,
        ),
    )
    function_isolation: IsolationMode = field(
        default=IsolationMode.AUTO,
        metadata=_spec(
            _EnumChoice(IsolationMode),
            "How function workers are kept from the server: user (a uid per worker; needs root), process "
            "(the server's uid, its /proc entries closed) or auto (user when root).",
        ),
    )
    function_user: str | None = field(
        default=None,
        metadata=_spec(
            _Pattern(r"[0-9]{1,10}(:[0-9]{1,10})?|[a-z_][a-z0-9_.-]{0,31}", "a user name or UID[:GID]"),
            "First uid of the function workers (user isolation): UID[:GID] or a user name; worker n runs as UID+n.",
            default_text=f"the first free range from {DEFAULT_FUNCTION_UID}",
        ),
    )


def _settings() -> tuple[Setting, ...]:
    out = []
    for f in fields(ServerConfig):
        spec = f.metadata["setting"]
        out.append(Setting(name=f.name, default=_field_default(f), **spec))
    return tuple(out)


def _field_default(f: Field[Any]) -> Any:
    assert f.default is not MISSING, f.name  # every setting has a default
    return f.default


#: Every setting, in the order of ``--help`` and the documentation.
SETTINGS: tuple[Setting, ...] = _settings()
_BY_KEY = {s.key: s for s in SETTINGS}


# --- the file ---------------------------------------------------------------------------------------


def _type_name(types: tuple[type, ...]) -> str:
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    return " or ".join(dict.fromkeys(names[t] for t in types))


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return repr(value)[:100]


def _unknown_key(path: Path, key: str) -> str:
    if key in _SECRET_KEYS:
        return (
            f"{path}: {key!r} is not read from a configuration file: give the root key with {ENV_ID} and "
            f"{ENV_SECRET}, or keep it in DATA/{ROOT_KEY_FILE}"
        )
    spelled = key.replace("_", "-").lower()
    guess = [spelled] if spelled in _BY_KEY else difflib.get_close_matches(spelled, list(_BY_KEY), n=1, cutoff=0.6)
    hint = f" (did you mean {guess[0]!r}?)" if guess else f" (known keys: {', '.join(_BY_KEY)})"
    return f"{path}: unknown key {key[:100]!r}{hint}"


def load_config_file(path: Path) -> dict[str, Any]:
    """Read a TOML configuration file into ``{field name: value}`` (values not yet checked by their type).

    Relative paths are made relative to the file's folder.

    Raises:
        ConfigProblems: the file cannot be read, is not TOML, or has unknown keys or values of the wrong
            TOML type (every such problem, one per line).
    """
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigProblems([f"the configuration file {path} does not exist"]) from None
    except OSError as exc:
        raise ConfigProblems([f"cannot read the configuration file {path}: {exc.strerror or exc}"]) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigProblems([f"{path} is larger than {MAX_CONFIG_BYTES} bytes: not a configuration file"])
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigProblems([f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigProblems([f"{path} is not valid TOML: {exc}"]) from None
    values: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in doc.items():
        setting = _BY_KEY.get(key)
        if setting is None:
            problems.append(_unknown_key(path, key))
            continue
        # bool is an int subclass in Python; TOML keeps them apart, and so do we.
        if not isinstance(value, setting.toml) or (isinstance(value, bool) and bool not in setting.toml):
            problems.append(f"{path}: {key} must be {_type_name(setting.toml)}, not {_toml_value(value)}")
            continue
        if isinstance(value, str) and not value.isprintable():
            problems.append(f"{path}: {key} must not hold control characters")
            continue
        if setting.path:
            value = str(path.parent / Path(str(value)).expanduser())
        values[setting.name] = value
    if problems:
        raise ConfigProblems(problems)
    return values


# --- click ------------------------------------------------------------------------------------------


class _SettingOption(click.Option):
    """An option whose bad value's message names where it came from: the flag, the variable or the file key."""

    def __init__(self, *args: Any, flag: str, env: str, key: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.hints = (flag, env, key)

    def process_value(self, ctx: click.Context, value: Any) -> Any:
        try:
            return super().process_value(ctx, value)
        except click.BadParameter as exc:
            flag, env, key = self.hints
            source = ctx.get_parameter_source(self.name or "")
            if source == ParameterSource.COMMANDLINE:
                exc.param_hint = f"'{flag}'"
            elif source == ParameterSource.ENVIRONMENT:
                exc.param_hint = env
            elif source == ParameterSource.DEFAULT_MAP and key is not None:
                exc.param_hint = f"{key} in {ctx.meta.get(_FILE_META, 'the configuration file')}"
            raise


_FILE_META = "tidegate.config_file"


def _read_config(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """``--config``'s callback (eager): the file's values become the defaults of the other options."""
    if value is None or ctx.resilient_parsing:
        return value
    values = load_config_file(value)
    ctx.meta[_FILE_META] = value
    ctx.default_map = {**(ctx.default_map or {}), **values}
    return value


@dataclass(frozen=True, slots=True)
class Settings:
    """The resolved configuration, the file it read and where each value came from."""

    config: ServerConfig
    file: Path | None
    #: field name → ``--flag``, ``TIDEGATE_X``, ``config file`` or ``default``.
    sources: Mapping[str, str]

    def given(self) -> list[tuple[Setting, Any, str]]:
        """The settings not left at their default: (setting, value, source)."""
        return [
            (s, getattr(self.config, s.name), self.sources[s.name])
            for s in SETTINGS
            if self.sources[s.name] != "default"
        ]


def _source(ctx: click.Context, setting: Setting) -> str:
    source = ctx.get_parameter_source(setting.name)
    if source == ParameterSource.COMMANDLINE:
        return setting.option
    if source == ParameterSource.ENVIRONMENT:
        return setting.env
    if source == ParameterSource.DEFAULT_MAP:
        return "config file"
    return "default"


def server_settings(f: F) -> F:
    """Add ``--config`` and one option per setting; pass the command one ``settings`` (:class:`Settings`)."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        file = kwargs.pop("config_file")
        config = ServerConfig(**{s.name: kwargs.pop(s.name) for s in SETTINGS})
        sources = {s.name: _source(ctx, s) for s in SETTINGS}
        return f(*args, settings=Settings(config, file, sources), **kwargs)

    decorated: Callable[..., Any] = wrapper
    for setting in reversed(SETTINGS):
        decorated = _option(setting)(decorated)
    decorated = click.option(
        "--config",
        "config_file",
        cls=_SettingOption,
        flag="--config",
        env=ENV_CONFIG,
        type=click.Path(dir_okay=False, path_type=Path),
        envvar=ENV_CONFIG,
        show_envvar=True,
        is_eager=True,
        expose_value=True,
        callback=_read_config,
        help="TOML file of settings (keys as the long options, without --).",
    )(decorated)
    return decorated  # type: ignore[return-value]


def _option(setting: Setting) -> Callable[[F], F]:
    decls = [f"{setting.option}/--no-{setting.key}" if setting.flag else setting.option, setting.name]
    extra: dict[str, Any] = {} if setting.flag else {"type": setting.param_type}
    return click.option(
        *decls,
        cls=_SettingOption,
        flag=setting.option,
        env=setting.env,
        key=setting.key,
        default=setting.default.value if isinstance(setting.default, Enum) else setting.default,
        envvar=setting.env,
        show_envvar=True,
        show_default=setting.default_text or setting.default is not None,
        help=setting.help,
        **extra,
    )


def redact_url(url: str) -> str:
    """``url`` with the password of its user part replaced by ``***`` (for messages and summaries)."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        netloc = parts.netloc.rsplit("@", 1)
        user = (parts.username or "") + ":***"
        return urlunsplit(parts._replace(netloc=f"{user}@{netloc[-1]}"))
    except ValueError:
        return url
