"""``tidegate server``: the workflow runtime and its API on one port."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import click
import uvicorn

from tidegate.api import DEFAULT_REGION, AppContext
from tidegate.api.http_limits import BODY_TIMEOUT_S, HEADER_TIMEOUT_S, KEEP_ALIVE_S, HttpLimits, protocol_class
from tidegate.app import create_app
from tidegate.auth.keys import KeyRing, load_or_create_root_key
from tidegate.cli._app import main
from tidegate.cli._client import cli_error
from tidegate.cli.private import PRIVATE_UMASK, make_private, sqlite_files
from tidegate.deploy.host import FunctionHost
from tidegate.deploy.serve import build_function_host, deploy_on_start
from tidegate.errors import ConfigurationError
from tidegate.flow.model import ResourceKind
from tidegate.integrations import Registry
from tidegate.integrations.mns import mns_targets
from tidegate.mq.push import PushWorker, start_push_worker
from tidegate.runtime import Runtime
from tidegate.runtime.retention import DEFAULT_RETENTION, Retention, parse_retention
from tidegate.store import Store, open_store

__all__ = ["ENV_REGION", "build_context", "server_command", "store_url_for"]

ENV_REGION = "TIDEGATE_REGION"
log = logging.getLogger("tidegate.server")


def store_url_for(data_dir: Path) -> str:
    """The default store of a data folder: ``DIR/tidegate.db`` (absolute SQLite URL)."""
    return f"sqlite:///{(data_dir / 'tidegate.db').resolve()}"


def build_context(store: Store, data_dir: Path, env: Mapping[str, str]) -> tuple[AppContext, bool]:
    """Load (or create) the root key and build the app context; also return whether the key is new."""
    root, created = load_or_create_root_key(data_dir, env)
    region = env.get(ENV_REGION) or DEFAULT_REGION
    ctx = AppContext(store=store, keyring=KeyRing(root), region=region, account_id=root.account_id)
    return ctx, created


def _start_runtime(ctx: AppContext, functions: FunctionHost) -> Runtime:
    """Start the runtime with the function host's integration; return it."""
    # Task steps and HTTP triggers share the function host's one runner.
    registry = Registry()
    registry.register(ResourceKind.FUNCTION, functions.integration())
    runtime = Runtime(
        ctx.store,
        signer=ctx.signer,
        registry=registry,
        region=ctx.region,
        account_id=ctx.account_id,
        credentials=functions.credentials,
        transactional=mns_targets(ctx.store, region=ctx.region, account_id=ctx.account_id),
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


def _print_key(echo: Callable[[str], None], ctx: AppContext, data_dir: Path) -> None:
    root = ctx.keyring.root
    echo("tidegate: created the root AccessKey (shown once):")
    echo(f"  AccessKeyId:     {root.id}")
    echo(f"  AccessKeySecret: {root.secret}")
    echo(f"  kept in {data_dir / 'root-key.json'} (mode 0600); account {root.account_id}")


@main.command("server")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8787, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--data",
    "data_dir",
    default=".tidegate",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Data folder: root key, and the SQLite store unless --store is given.",
)
@click.option("--store", "store_url", default=None, help="Store URL (sqlite:///… or postgresql://…).")
@click.option(
    "--functions",
    "functions_dir",
    default=None,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Local functions as DIR/SERVICE/FUNCTION.py (task steps on acs:fc:::services/S/functions/F).",
)
@click.option(
    "--header-timeout",
    default=HEADER_TIMEOUT_S,
    show_default=True,
    type=click.FloatRange(0, 3600, min_open=True),
    help="Seconds a client has to send a request's line and headers.",
)
@click.option(
    "--body-timeout",
    default=BODY_TIMEOUT_S,
    show_default=True,
    type=click.FloatRange(0, 3600, min_open=True),
    help="Seconds a request body may stall (no byte arriving) before the connection is closed.",
)
@click.option(
    "--keep-alive-timeout",
    default=KEEP_ALIVE_S,
    show_default=True,
    type=click.IntRange(1, 3600),
    help="Seconds an idle keep-alive connection stays open between requests.",
)
@click.option(
    "--deploy",
    "deploy_dir",
    default=None,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Deploy every DIR/*/deploy.yaml once the server is up (as `tidegate deploy DIR` would).",
)
@click.option(
    "--retention",
    "retention_text",
    default=DEFAULT_RETENTION,
    show_default=True,
    envvar="TIDEGATE_RETENTION",
    help="How long ended executions are kept (e.g. 30d, 12h; off: for ever) [env TIDEGATE_RETENTION].",
)
def server_command(
    host: str,
    port: int,
    data_dir: Path,
    store_url: str | None,
    functions_dir: Path | None,
    header_timeout: float,
    body_timeout: float,
    keep_alive_timeout: int,
    deploy_dir: Path | None,
    retention_text: str,
) -> None:
    """Run the Serverless Workflow API and runtime.

    Environment: TIDEGATE_ACCESS_KEY_ID / TIDEGATE_ACCESS_KEY_SECRET (root key; else DATA/root-key.json,
    created on first start), TIDEGATE_ACCOUNT_ID (default 1234567890123456), TIDEGATE_REGION
    (default cn-hangzhou).
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    limits = HttpLimits(header_timeout, body_timeout, keep_alive_timeout)
    os.umask(PRIVATE_UMASK)  # every folder and file the server creates is its own: 0700 / 0600
    data_dir.mkdir(parents=True, exist_ok=True)
    url = store_url or store_url_for(data_dir)
    try:
        retention_ms = parse_retention(retention_text)
        store = open_store(url)
    except ConfigurationError as exc:
        raise cli_error(exc) from None
    runtime: Runtime | None = None
    retention = Retention(store, retention_ms) if retention_ms is not None else None
    push: PushWorker | None = None
    functions: FunctionHost | None = None
    ctx: AppContext | None = None
    try:
        try:
            ctx, created = build_context(store, data_dir, os.environ)
        except ConfigurationError as exc:  # a refusal to start is one line (exit 2), not a traceback
            raise cli_error(exc) from None
        if created:
            _print_key(click.echo, ctx, data_dir)
        make_private(data_dir, sqlite_files(url))  # after the key check: a readable key file is refused
        ctx.service.purger.sweep()  # executions of flows deleted before a stop (or by an older version)
        functions = build_function_host(
            store,
            ctx.keyring,
            data_dir,
            host=host,
            port=port,
            region=ctx.region,
            account_id=ctx.account_id,
            env=os.environ,
            functions_dir=functions_dir,
        )
        runtime = _start_runtime(ctx, functions)
        if retention is not None:
            retention.start()
        push = start_push_worker(
            store, data_dir, host=host, port=port, region=ctx.region, account_id=ctx.account_id, env=os.environ
        )
        config = uvicorn.Config(
            create_app(ctx, functions),
            host=host,
            port=port,
            loop="auto",  # uvloop where it is installed (a dependency on Linux and macOS)
            http=protocol_class(limits),  # httptools (a dependency) with header and body deadlines
            timeout_keep_alive=limits.keep_alive_s,
            lifespan="off",
            access_log=False,
            server_header=False,  # the MNS replies name the server themselves; no "server: uvicorn" besides
            log_level="warning",
            timeout_graceful_shutdown=5,
        )
        click.echo(f"tidegate: serving on http://{host}:{port} (region {ctx.region})")
        if deploy_dir is not None:
            deploy_on_start(deploy_dir, functions.endpoint, ctx.keyring, click.echo)
        # SIGINT/SIGTERM end serve() after in-flight requests finish; then the finally block cleans up.
        _Server(config).run()
    finally:
        if push is not None:
            push.stop()
        if retention is not None:
            retention.stop()
        if runtime is not None:
            runtime.stop()
        if functions is not None:
            functions.close()
        if ctx is not None:
            ctx.service.purger.stop()
        store.close()
        click.echo("tidegate: stopped")
