"""``tidegate worker --queue Q module:function``: serve a queue's task messages with a handler (tidegate.sdk).

The handler is imported from ``module:function`` (the current folder is on the import path), and runs in a
:class:`tidegate.sdk.Worker`. Endpoints and keys: the options, else the SDK's environment variables
(``TIDEGATE_ENDPOINT``, ``ALIBABA_CLOUD_*``, ``TIDEGATE_ACCESS_KEY_*``: docs/sdk.md), else, for a server on
this machine, ``http://127.0.0.1:8787`` and the root key in ``--data`` (``.tidegate``), as the other
commands do. SIGTERM or Ctrl-C stops gracefully; a second one stops at once.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Any

import click

from tidegate.cli._app import main
from tidegate.cli._client import DEFAULT_ENDPOINT, UsageFailure, resolve_connection
from tidegate.cli.logs import LogFormat, LogLevel, setup_logging
from tidegate.sdk import ClientConfig, ConfigError, Credentials, TaskFormat, Worker
from tidegate.sdk.errors import MissingCredentials

__all__ = ["load_handler", "worker_command"]

_ENDPOINT_VARS = ("TIDEGATE_ENDPOINT", "ALIBABA_CLOUD_REGION_ID", "REGION")


def load_handler(spec: str) -> Any:
    """Import ``module:function`` (a dotted attribute path after the colon) with the current folder on the path.

    Raises:
        UsageFailure: the spec is malformed, the module cannot be imported or has no such callable.
    """
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise UsageFailure(f"the handler {spec!r} must be module:function")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageFailure(f"cannot import {module_name!r}: {exc}") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise UsageFailure(f"{module_name!r} has no {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise UsageFailure(f"{spec} is not callable")
    return obj


def _config(
    endpoint: str | None,
    mns_endpoint: str | None,
    fnf_endpoint: str | None,
    region: str | None,
    account_id: str | None,
    key_id: str | None,
    key_secret: str | None,
    data_dir: Path | None,
) -> ClientConfig:
    if bool(key_id) != bool(key_secret):
        raise UsageFailure("give both --access-key-id and --access-key-secret, or neither")
    credentials = Credentials(key_id, key_secret) if key_id and key_secret else None
    points_somewhere = endpoint or (mns_endpoint and fnf_endpoint) or any(os.environ.get(v) for v in _ENDPOINT_VARS)
    if not points_somewhere and not region:
        endpoint = DEFAULT_ENDPOINT  # a tidegate server on this machine, as the other commands assume
    try:
        return ClientConfig.from_env(
            endpoint=endpoint,
            mns_endpoint=mns_endpoint,
            fnf_endpoint=fnf_endpoint,
            region=region,
            account_id=account_id,
            credentials=credentials,
        )
    except MissingCredentials as exc:
        tidegate_endpoint = endpoint or os.environ.get("TIDEGATE_ENDPOINT")
        if not tidegate_endpoint:
            raise UsageFailure(str(exc)) from None
    except ConfigError as exc:
        raise UsageFailure(str(exc)) from None
    # No key anywhere: the root key of a tidegate server's data folder, as the other commands find it.
    conn = resolve_connection(tidegate_endpoint, None, None, data_dir)
    try:
        return ClientConfig.from_env(
            endpoint=conn.endpoint,
            region=region,
            credentials=Credentials(conn.access_key_id, conn.access_key_secret),
        )
    except ConfigError as exc:
        raise UsageFailure(str(exc)) from None


@main.command("worker")
@click.argument("handler")
@click.option("--queue", required=True, help="The queue whose task messages to serve.")
@click.option("--concurrency", type=click.IntRange(1, 1000), default=16, show_default=True, help="Tasks run at once.")
@click.option("--endpoint", help="A tidegate server's URL, for both protocols [env TIDEGATE_ENDPOINT].")
@click.option("--mns-endpoint", help="The MNS endpoint (e.g. https://ACCOUNT.mns.REGION.aliyuncs.com).")
@click.option("--fnf-endpoint", help="The Serverless Workflow endpoint (e.g. https://REGION.fnf.aliyuncs.com).")
@click.option("--region", help="Region for Alibaba Cloud's endpoints [env ALIBABA_CLOUD_REGION_ID].")
@click.option("--account-id", help="Account id for the MNS endpoint [env ALIBABA_CLOUD_ACCOUNT_ID].")
@click.option("--access-key-id", metavar="ID", help="AccessKey ID [env ALIBABA_CLOUD_ACCESS_KEY_ID].")
@click.option("--access-key-secret", metavar="SECRET", help="AccessKey secret [env ALIBABA_CLOUD_ACCESS_KEY_SECRET].")
@click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="A local server's data folder, for its root key when no key is given [default: .tidegate].",
)
@click.option(
    "--wait-seconds", type=click.IntRange(0, 30), default=10, show_default=True, help="Long-poll wait per receive."
)
@click.option(
    "--visibility-timeout",
    type=click.IntRange(1, 43200),
    help="Seconds each heartbeat keeps a running task's message hidden [default: the queue's].",
)
@click.option(
    "--heartbeat-interval",
    type=click.FloatRange(0.1, 43200),
    help="Seconds between heartbeats of a running task [default: a third of the visibility timeout].",
)
@click.option(
    "--token-field",
    "token_fields",
    multiple=True,
    help="The body field holding the task token (repeatable; dotted for nested) [default: task_token, taskToken].",
)
@click.option("--payload-field", help="The body field passed to the handler [default: the body without the token].")
@click.option(
    "--shutdown-timeout",
    type=click.FloatRange(0, 86400),
    default=30.0,
    show_default=True,
    help="Seconds a stop lets running tasks finish before releasing their messages.",
)
@click.option(
    "--log-level",
    type=click.Choice([v.value for v in LogLevel]),
    default=LogLevel.INFO.value,
    show_default=True,
    help="The least severe level logged.",
)
@click.option(
    "--log-format", type=click.Choice([v.value for v in LogFormat]), default=LogFormat.TEXT.value, show_default=True
)
def worker_command(
    handler: str,
    queue: str,
    concurrency: int,
    endpoint: str | None,
    mns_endpoint: str | None,
    fnf_endpoint: str | None,
    region: str | None,
    account_id: str | None,
    access_key_id: str | None,
    access_key_secret: str | None,
    data_dir: Path | None,
    wait_seconds: int,
    visibility_timeout: int | None,
    heartbeat_interval: float | None,
    token_fields: tuple[str, ...],
    payload_field: str | None,
    shutdown_timeout: float,
    log_level: str,
    log_format: str,
) -> None:
    """Serve the task messages of a queue with HANDLER (module:function) until SIGTERM or Ctrl-C.

    The handler gets each message's payload (its JSON object without the task token) and returns the
    task's output; an exception fails the task (its class is the error, its message the cause).
    """
    setup_logging(LogLevel(log_level), LogFormat(log_format))
    config = _config(
        endpoint, mns_endpoint, fnf_endpoint, region, account_id, access_key_id, access_key_secret, data_dir
    )
    fn = load_handler(handler)
    fmt = (
        TaskFormat(token_fields=token_fields, payload_field=payload_field)
        if token_fields
        else TaskFormat(payload_field=payload_field)
    )
    worker = Worker(
        queue,
        fn,
        concurrency=concurrency,
        config=config,
        wait_seconds=wait_seconds,
        visibility_timeout=visibility_timeout,
        heartbeat_interval=heartbeat_interval,
        task_format=fmt,
        shutdown_timeout=shutdown_timeout,
    )
    click.echo(f"serving queue {queue} at {config.mns_endpoint} with {handler} (concurrency {concurrency})", err=True)
    stats = worker.run()
    click.echo(
        f"stopped: {stats.succeeded} succeeded, {stats.failed} failed, {stats.already_completed} already completed, "
        f"{stats.released} released",
        err=True,
    )
