"""``tidegate server``: the workflow runtime and its API on one port; ``--check`` tries a configuration.

The settings (flags, ``TIDEGATE_*`` variables, the ``--config`` file) are declared in
:mod:`tidegate.cli.config`. Starting goes in an order that fails early and leaves nothing behind: the
settings are checked while the command line is parsed, then the port is bound, then the data folder is
checked and created, then the store is opened and this server's identity (root key, region, account)
compared with the one the servers sharing the store recorded, then the root key is read or created, and only
then does the server say it is serving. Every refusal is one ``Error:`` line with the exit codes of
:class:`tidegate.cli._client.ExitCode` (2: configuration, 3: the store cannot be reached).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import signal
import socket
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import click
import uvicorn

from tidegate import metrics
from tidegate.api import DEFAULT_REGION, AppContext
from tidegate.api.access_log import AccessLog
from tidegate.api.http_limits import HttpLimits, protocol_class
from tidegate.app import create_app
from tidegate.auth.keys import (
    ENV_ACCOUNT,
    ENV_ID,
    ENV_SECRET,
    ROOT_KEY_FILE,
    AccessKey,
    KeyRing,
    load_or_create_root_key,
)
from tidegate.cli._app import main
from tidegate.cli._client import ExitCode, UsageFailure, cli_error
from tidegate.cli.config import ConfigProblems, ServerConfig, Settings, redact_url, server_settings
from tidegate.cli.logs import LogFormat, LogLevel, setup_logging
from tidegate.cli.private import PRIVATE_UMASK, make_private, sqlite_files
from tidegate.deploy.host import FunctionHost
from tidegate.deploy.serve import build_function_host, deploy_files, deploy_on_start
from tidegate.deploy.spec import load_deploy_file
from tidegate.egress import EgressPolicy
from tidegate.errors import ConfigurationError, StoreError
from tidegate.flow.model import ResourceKind
from tidegate.functions import Isolation, close_own_proc_entries, default_workers
from tidegate.integrations import Registry
from tidegate.integrations.mns import mns_targets
from tidegate.integrations.roles import TaskRoles
from tidegate.mq.push import PushWorker, start_push_worker
from tidegate.ram.service_roles import ensure_default_execution_role
from tidegate.ram.sts import StsService
from tidegate.runtime import DEFAULT_CALLBACK_TIMEOUT_S, Runtime
from tidegate.runtime.identity import SETTING as IDENTITY_SETTING
from tidegate.runtime.identity import (
    Identity,
    IdentityMismatch,
    claim_identity,
    compare_identity,
    parse_identity,
    reset_identity,
)
from tidegate.runtime.nodes import NodeKeeper, claim_node_id
from tidegate.runtime.retention import Retention, parse_retention
from tidegate.store import Store, open_store
from tidegate.store.inspect import read_setting, schema_status
from tidegate.urls import PUBLIC_URL_ENV

__all__ = ["ENV_REGION", "bind_listeners", "build_context", "server_command", "server_env", "store_url_for"]

ENV_REGION = "TIDEGATE_REGION"
log = logging.getLogger("tidegate.server")


def store_url_for(data_dir: Path) -> str:
    """The default store of a data folder: ``DIR/tidegate.db`` (absolute SQLite URL)."""
    return f"sqlite:///{(data_dir / 'tidegate.db').resolve()}"


def server_env(config: ServerConfig, environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` with the variables the server's parts read set from ``config``.

    The function host, the push worker and the root key read the region, the public URL and the account
    id from an environment mapping; the resolved settings (which may come from a flag or the file) win.
    """
    env = dict(environ)
    given = {ENV_REGION: config.region, PUBLIC_URL_ENV: config.public_url, ENV_ACCOUNT: config.account_id}
    for name, value in given.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def build_context(store: Store, data_dir: Path, env: Mapping[str, str]) -> tuple[AppContext, bool]:
    """Load (or create) the root key and build the app context; also return whether the key is new."""
    root, created = load_or_create_root_key(data_dir, env)
    region = env.get(ENV_REGION) or DEFAULT_REGION
    ctx = AppContext(store=store, keyring=KeyRing(root), region=region, account_id=root.account_id)
    return ctx, created


# --- the identity of the servers sharing a store -------------------------------------------------------

_IDENTITY_ADVICE = (
    f"start it with the same {ENV_ID}/{ENV_SECRET} (or a copy of their {ROOT_KEY_FILE}), {ENV_REGION} and "
    f"{ENV_ACCOUNT} as the others; to change them for every server, stop them all and start one with "
    "--reset-identity"
)


def _existing_root_key(data_dir: Path, env: Mapping[str, str]) -> AccessKey | None:
    """The root key this server would use, or None when starting would create a new one (nothing is created)."""
    if env.get(ENV_ID) or env.get(ENV_SECRET) or (data_dir / ROOT_KEY_FILE).exists():
        return load_or_create_root_key(data_dir, env)[0]
    return None


def check_identity(stored: Identity | None, data_dir: Path, env: Mapping[str, str]) -> None:
    """Refuse (IdentityMismatch) a server whose key, region or account is not the store's; reads only.

    A server without a root key would create a new one, which cannot be the store's: it is refused before
    the key is created.
    """
    if stored is None:
        return
    key = _existing_root_key(data_dir, env)
    if key is None:
        raise IdentityMismatch(
            f"this store belongs to {stored.describe()}; this server has no root key yet (neither {ENV_ID}/"
            f"{ENV_SECRET} nor {data_dir / ROOT_KEY_FILE}): give it the others' key with {ENV_ID}/{ENV_SECRET} "
            f"or a copy of their {ROOT_KEY_FILE}"
        )
    compare_identity(stored, Identity.of(key, env.get(ENV_REGION) or DEFAULT_REGION), _IDENTITY_ADVICE)


def _record_identity(ctx: AppContext, reset: bool) -> None:
    """Record this server's identity in the store (the first server), or check it against the recorded one."""
    mine = Identity.of(ctx.keyring.root, ctx.region)
    if reset:
        previous = reset_identity(ctx.store, mine)
        if previous != mine:
            was = previous.describe() if previous is not None else "none"
            log.warning("--reset-identity: the store now belongs to %s (was: %s)", mine.describe(), was)
    elif claim_identity(ctx.store, mine, _IDENTITY_ADVICE):
        log.info("recorded the store's server identity: %s", mine.describe())


# --- checks shared by the start and --check ---------------------------------------------------------


def bind_listeners(host: str, port: int) -> list[socket.socket]:
    """Bind the server's listening sockets (one per address ``host`` resolves to), as asyncio would.

    Raises:
        UsageFailure: the port is taken, the address is not this machine's, or ``host`` does not resolve.
    """
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise UsageFailure(f"cannot listen on {host!r}: the name does not resolve ({exc.strerror})") from None
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(address)
            except OSError as exc:
                raise UsageFailure(_bind_failure(host, port, exc)) from None
            sock.set_inheritable(True)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def _bind_failure(host: str, port: int, exc: OSError) -> str:
    where = f"{host}:{port}" if ":" not in host else f"[{host}]:{port}"
    if exc.errno == errno.EADDRINUSE:
        return f"port {port} is already in use on {host} (another server?): choose another with --port"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {where}: {host} is not an address of this machine"
    if exc.errno == errno.EACCES:
        return f"cannot listen on {where}: permission denied (ports below 1024 need privileges)"
    return f"cannot listen on {where}: {exc.strerror or exc}"


def folder_problem(folder: Path, what: str) -> str | None:
    """Why ``folder`` cannot be used (or created) as a writable folder, or None when it can."""
    if folder.exists():
        if not folder.is_dir():
            return f"the {what} {folder} is not a folder"
        if not os.access(folder, os.W_OK | os.X_OK):
            return f"the {what} {folder} is not writable"
        return None
    parent = folder.absolute().parent
    for _ in range(256):  # bounded: a path has far fewer parts
        if parent.exists() or parent == parent.parent:
            break
        parent = parent.parent
    if not parent.is_dir():
        return f"cannot create the {what} {folder}: {parent} is not a folder"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"cannot create the {what} {folder}: {parent} is not writable"
    return None


def _store_file(url: str) -> Path | None:
    files = sqlite_files(url)
    return files[0] if files else None


def _folder_problems(data: Path, url: str) -> list[str]:
    """Why the data folder, or the file or folder of a SQLite store, cannot be used (or created)."""
    problems = [p for p in (folder_problem(data, "data folder"),) if p is not None]
    path = _store_file(url)
    if path is None:
        return problems
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        problems.append(f"the SQLite store {path} is not writable")
    elif path.parent.absolute() != data.absolute():  # the data folder's problem is said once
        problems.extend(p for p in (folder_problem(path.parent, "folder of the SQLite store"),) if p is not None)
    return problems


# --- --check ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason the server would not start."""

    message: str
    code: ExitCode


class _Problems(UsageFailure):
    """Several configuration problems: one ``Error:`` line each (exit code 2)."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)

    def show(self, file: IO[Any] | None = None) -> None:
        for problem in self.problems:
            click.echo(f"Error: {problem}", err=True, file=file)


def _problem(exc: Exception) -> Problem:
    converted = cli_error(exc)
    return Problem(converted.format_message(), ExitCode(converted.exit_code))


def _check_key(data: Path, env: Mapping[str, str]) -> tuple[str, list[str]]:
    """The summary line of the root key and notes; raises ConfigurationError when it is unusable."""
    notes = []
    path = data / ROOT_KEY_FILE
    if env.get(ENV_ID) or env.get(ENV_SECRET):
        key, _ = load_or_create_root_key(data, env)
        if path.is_file():
            try:
                stored, _ = load_or_create_root_key(data, {})
            except ConfigurationError:
                stored = None
            if stored is not None and stored.id != key.id:
                notes.append(
                    f"{path} holds another key ({stored.id}): commands that read --data sign with it, and "
                    f"this server refuses it"
                )
        return f"{key.id} from {ENV_ID} (account {key.account_id})", notes
    if path.exists():
        key, _ = load_or_create_root_key(data, env)
        return f"{key.id} from {path} (account {key.account_id})", notes
    return f"none yet: a new one is created in {path} and printed once", notes


def _check_store(url: str) -> str:
    """The summary line of the store; raises the store's errors."""
    shown = redact_url(url)
    path = _store_file(url)
    if path is not None and not path.exists():
        return f"{shown}: created on start"
    status = schema_status(url)
    if status.unknown:
        raise StoreError(
            f"the store {shown} has migrations this version does not know ({', '.join(map(str, status.unknown))}): "
            f"it was used by a newer tidegate"
        )
    if status.pending:
        return f"{shown}: {len(status.pending)} migration(s) to apply on start"
    return f"{shown}: up to date (migration {status.known[-1]})"


class _Report:
    """What ``--check`` found: summary lines, notes and problems."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []
        self.notes: list[str] = []
        self.problems: list[Problem] = []

    def attempt(self, label: str, check: Callable[[], str]) -> None:
        """Run one check: its summary line, or its failure as a problem (the other checks still run)."""
        try:
            self.lines.append((label, check()))
        except Exception as exc:
            self.problems.append(_problem(exc))


def _check_port(host: str, port: int) -> str:
    for sock in bind_listeners(host, port):
        sock.close()
    return f"{_listen_url(host, port)} (free)"


def _check_deploy(folder: Path) -> str:
    files = deploy_files(folder)
    for path in files:
        load_deploy_file(path)
    return f"{len(files)} deploy file(s) in {folder}, valid"


def _check_identity(url: str, data: Path, env: Mapping[str, str], reset: bool) -> str:
    """The summary line of the store's server identity; raises IdentityMismatch as a start would."""
    path = _store_file(url)
    value = None if path is not None and not path.exists() else read_setting(url, IDENTITY_SETTING)
    if reset:
        was = "none recorded" if value is None else f"was {parse_identity(value).describe()}"
        return f"replaced by this server's on start (--reset-identity; {was})"
    if value is None:
        return "none recorded yet: this server's is recorded on start"
    stored = parse_identity(value)
    check_identity(stored, data, env)
    return f"{stored.describe()}: this server's"


def run_check(settings: Settings, environ: Mapping[str, str], *, reset_identity: bool = False) -> None:
    """``--check``: every problem on its own line (exit code of the first), else a summary (exit 0).

    Nothing is created: not the data folder, not the key, not a SQLite file. A PostgreSQL store is
    connected to and its applied migrations read (a ``?schema=`` of the URL is created if missing).
    """
    config = settings.config
    env = server_env(config, environ)
    url = config.store or store_url_for(config.data)
    report = _Report()
    folders = _folder_problems(config.data, url)
    report.problems.extend(Problem(p, ExitCode.USAGE) for p in folders)
    if not folders:
        report.lines.append(("data", str(config.data.absolute())))

        def key() -> str:
            line, notes = _check_key(config.data, env)
            report.notes.extend(notes)
            return line

        report.attempt("root key", key)
        report.attempt("store", lambda: _check_store(url))
        if not report.problems:  # the key and the store are usable: does the store know this server?
            report.attempt("identity", lambda: _check_identity(url, config.data, env, reset_identity))
    report.attempt("listen", lambda: _check_port(config.host, config.port))
    report.attempt("functions", lambda: _describe_isolation(_isolation(config, claim=False)))
    deploy_dir = config.deploy
    if deploy_dir is not None:
        report.attempt("deploy", lambda: _check_deploy(deploy_dir))
    if report.problems:
        for problem in report.problems:
            click.echo(f"Error: {problem.message}", err=True)
        raise click.exceptions.Exit(report.problems[0].code)
    _print_summary(settings, report)


def _print_summary(settings: Settings, report: _Report) -> None:
    config = settings.config
    lines = list(report.lines)
    if settings.file is not None:
        lines.insert(0, ("config file", str(settings.file)))
    lines.append(("region", config.region))
    lines.append(("egress", _egress_summary(config)))
    access = "on" if config.access_log else "off"
    lines.append(("logs", f"{config.log_level}, {config.log_format}, access log {access}"))
    given = ", ".join(f"{s.key} from {source}" for s, _, source in settings.given())
    lines.append(("settings", given or "all defaults"))
    click.echo("tidegate server --check: the configuration is usable")
    for label, text in lines:
        click.echo(f"  {label + ':':<13}{text}")
    for note in report.notes:
        click.echo(f"  note: {note}")


def _egress_summary(config: ServerConfig) -> str:
    reach = f"only {config.egress_allow}" if config.egress_allow else "any host"
    refused = "link-local and metadata addresses refused"
    if config.egress_deny:
        refused += f", also {config.egress_deny}"
    requirements = "any source" if config.allow_direct_requirements else "the package index only"
    return f"pushes reach {reach}; {refused}; requirements from {requirements}"


# --- serving ----------------------------------------------------------------------------------------


def _listen_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _isolation(config: ServerConfig, *, claim: bool = True) -> Isolation:
    """``--function-isolation`` and ``--function-user`` resolved for this machine (raises IsolationError);
    ``claim``: take the uid range for this process (not for ``--check``)."""
    return Isolation.resolve(config.function_isolation, config.function_user, default_workers(), claim=claim)


def _describe_isolation(isolation: Isolation) -> str:
    if isolation.separate:
        last = isolation.uid + default_workers() - 1
        return f"user isolation (uids {isolation.uid}-{last}, group {isolation.gid})"
    return "process isolation (the server's uid)"


def start_runtime(
    ctx: AppContext,
    functions: FunctionHost,
    owner: str | None = None,
    callback_timeout_s: int = DEFAULT_CALLBACK_TIMEOUT_S,
) -> Runtime:
    """Start the runtime with the function host's integration, leasing as node ``owner`` (None: a new id
    for this process run), with ``callback_timeout_s`` as the default callback timeout; return it."""
    # Task steps and HTTP triggers share the function host's one runner.
    # Task steps act as their flow's execution role (the default one for flows without a RoleArn).
    ensure_default_execution_role(ctx.ram)
    roles = TaskRoles(ctx.store, ctx.authorizer)
    ctx.service.flow_changed = roles.forget  # a flow's new RoleArn applies at once on this server
    registry = Registry()
    registry.register(ResourceKind.FUNCTION, functions.integration(roles))
    runtime = Runtime(
        ctx.store,
        signer=ctx.signer,
        registry=registry,
        owner=owner,
        region=ctx.region,
        account_id=ctx.account_id,
        credentials=functions.credentials,
        roles=roles,
        transactional=mns_targets(ctx.store, region=ctx.region, account_id=ctx.account_id, roles=roles),
        callback_timeout_s=callback_timeout_s,
    )
    ctx.service.apply_now = runtime.driver.apply_now  # starts and task reports move on in their request
    runtime.start()
    return runtime


class _Server(uvicorn.Server):
    """uvicorn's server, with SIGINT/SIGTERM handled without re-raising them after shutdown.

    uvicorn re-raises a captured signal once it has stopped, which would end the process before the
    runtime and the store are closed; here a signal only asks the server to exit (a second one forces it).
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _announce_key(ctx: AppContext, data_dir: Path, fmt: LogFormat) -> None:
    """A new root key: printed once on stdout for people; with JSON logs, where it is (never the secret)."""
    root = ctx.keyring.root
    path = data_dir / ROOT_KEY_FILE
    if fmt == LogFormat.JSON:
        log.warning("created the root AccessKey %s (account %s); its secret is in %s", root.id, root.account_id, path)
        return
    click.echo("tidegate: created the root AccessKey (shown once):")
    click.echo(f"  AccessKeyId:     {root.id}")
    click.echo(f"  AccessKeySecret: {root.secret}")
    click.echo(f"  kept in {path} (mode 0600); account {root.account_id}")


def serve(
    config: ServerConfig, env: Mapping[str, str], listeners: list[socket.socket], *, reset_identity: bool = False
) -> None:
    """Run the server on the bound ``listeners`` until SIGINT/SIGTERM.

    ``reset_identity``: record this server's key, region and account as the store's, replacing the ones the
    servers sharing the store had (else a server that differs from them is refused).
    """
    data_dir = config.data
    metrics.set_enabled(config.metrics)  # before anything counts
    os.umask(PRIVATE_UMASK)  # every folder and file the server creates is its own: 0700 / 0600
    close_own_proc_entries()  # same-uid processes (functions in process isolation) cannot read /proc/PID
    url = config.store or store_url_for(data_dir)
    for problem in _folder_problems(data_dir, url):
        raise UsageFailure(problem)
    _check_key(data_dir, env)  # a key that would be refused is refused before anything is created
    isolation = _isolation(config)
    retention_ms = parse_retention(config.retention)  # checked by the setting's type already
    store = open_store(url)  # then the store: one that cannot be opened leaves no data folder behind
    runtime: Runtime | None = None
    keeper: NodeKeeper | None = None
    retention = Retention(store, retention_ms) if retention_ms is not None else None
    push: PushWorker | None = None
    functions: FunctionHost | None = None
    ctx: AppContext | None = None
    host, port = config.host, config.port
    serving = False
    try:
        if not reset_identity:  # refused before a key or the data folder is created
            stored = store.get_setting(IDENTITY_SETTING)
            check_identity(None if stored is None else parse_identity(stored), data_dir, env)
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageFailure(f"cannot create the data folder {data_dir}: {exc.strerror or exc}") from None
        # This server's lease-owner id; refused when another running server has the data folder.
        keeper = NodeKeeper(store, claim_node_id(data_dir), address=config.public_url or _listen_url(host, port))
        ctx, created = build_context(store, data_dir, env)
        ctx.node_id = keeper.node_id
        ctx.egress = EgressPolicy.parse(config.egress_allow, config.egress_deny)  # checked by the settings' type
        _record_identity(ctx, reset_identity)
        if created:
            _announce_key(ctx, data_dir, config.log_format)
        # After the key check (a readable key file is refused). Workers with a uid of their own pass through
        # the data folder to DATA/functions: those two keep the group bits that carry their ACL entries.
        shared = [data_dir, data_dir / "functions"] if isolation.separate else []
        make_private(data_dir, sqlite_files(url), shared=shared)
        ctx.service.purger.sweep()  # executions of flows deleted before a stop (or by an older version)
        functions = build_function_host(
            store,
            StsService(ctx.authorizer),
            data_dir,
            host=host,
            port=port,
            region=ctx.region,
            account_id=ctx.account_id,
            env=env,
            functions_dir=config.functions,
            allow_direct_requirements=config.allow_direct_requirements,
            isolation=isolation,
        )
        log.info("function workers: %s", _describe_isolation(isolation))
        keeper.start()  # before the runtime claims: leases a killed previous run of this node held are released
        runtime = start_runtime(ctx, functions, keeper.node_id, config.callback_timeout)
        if retention is not None:
            retention.start()
        push = start_push_worker(
            store,
            data_dir,
            host=host,
            port=port,
            region=ctx.region,
            account_id=ctx.account_id,
            env=env,
            egress=ctx.egress,
        )
        limits = HttpLimits(config.header_timeout, config.body_timeout, config.keep_alive_timeout)
        app: Any = create_app(ctx, functions, metrics_public=config.metrics_public)
        if config.access_log:
            app = AccessLog(app)
        uv_config = uvicorn.Config(
            app,
            host=host,
            port=port,
            loop="auto",  # uvloop where it is installed (a dependency on Linux and macOS)
            http=protocol_class(limits),  # httptools (a dependency) with header and body deadlines
            timeout_keep_alive=limits.keep_alive_s,
            lifespan="off",
            access_log=False,  # ours is --access-log (AccessLog), in the server's log format
            server_header=False,  # the MNS replies name the server themselves; no "server: uvicorn" besides
            log_config=None,  # uvicorn's lines go through the server's handler (one style)
            log_level="info" if config.log_level == LogLevel.DEBUG else "warning",
            timeout_graceful_shutdown=5,
        )
        serving = True
        log.info("serving on %s (region %s)", _listen_url(host, port), ctx.region)
        if config.deploy is not None:
            deploy_on_start(config.deploy, functions.endpoint, ctx.keyring, logging.getLogger("tidegate.deploy").info)
        # SIGINT/SIGTERM end serve() after in-flight requests finish; then the finally block cleans up.
        _Server(uv_config).run(sockets=listeners)
    finally:
        if push is not None:
            push.stop()
        if retention is not None:
            retention.stop()
        if runtime is not None:
            runtime.stop()
        if keeper is not None:
            keeper.stop()
        if functions is not None:
            functions.close()
        if ctx is not None:
            ctx.service.purger.stop()
        store.close()
        if serving:
            log.info("stopped")


class _ServerCommand(click.Command):
    """Parsing errors (a bad value, an unknown option, a bad configuration file) are one line each."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except ConfigProblems as exc:
            raise _Problems(exc.problems) from None
        except click.UsageError as exc:
            raise UsageFailure(exc.format_message()) from None


@main.command("server", cls=_ServerCommand)
@click.option(
    "--check",
    is_flag=True,
    help="Check the settings, the data folder, the store, the root key and the port; start nothing.",
)
@click.option(
    "--reset-identity",
    is_flag=True,
    help="Record this server's root key, region and account as the store's, replacing the ones recorded "
    "(after stopping every server sharing the store: rotating the key, moving region or account).",
)
@server_settings
def server_command(settings: Settings, check: bool, reset_identity: bool) -> None:
    """Run the Serverless Workflow API, the message service and the runtime on one port.

    Every option can also be set by its TIDEGATE_* variable or in the --config file (flag over variable
    over file); docs/configuration.md lists them. The root key: TIDEGATE_ACCESS_KEY_ID and
    TIDEGATE_ACCESS_KEY_SECRET, else DATA/root-key.json (created on first start).
    """
    if check:
        run_check(settings, os.environ, reset_identity=reset_identity)
        return
    config = settings.config
    setup_logging(config.log_level, config.log_format, access_log=config.access_log)
    env = server_env(config, os.environ)
    os.environ.pop(ENV_SECRET, None)  # read into env: what the server starts (pip...) does not inherit it
    listeners = bind_listeners(config.host, config.port)  # before anything is created or announced
    try:
        serve(config, env, listeners, reset_identity=reset_identity)
    finally:
        for sock in listeners:
            sock.close()
