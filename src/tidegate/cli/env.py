"""``tidegate env``: the shell lines that point the official SDKs and the source documents' programs here.

``eval "$(tidegate env)"`` in a shell, then run an unchanged worker program. The lines set
``TIDEGATE_ENDPOINT`` and put tidegate's ``sitecustomize`` shim first on ``PYTHONPATH`` (it redirects the
MNS SDKs, aliyunsdkcore's FnF, RAM and STS requests and the Tea FnF, RAM and STS clients, which read no
endpoint variable); the access key under the names tidegate's own commands, the SDKs' credential chains and
the first source document's worker read; and the region and account id.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import click
import httpx

from tidegate.auth.keys import ENV_ID, ENV_SECRET, ROOT_KEY_FILE, load_or_create_root_key
from tidegate.cli._app import main
from tidegate.cli._client import DEFAULT_ENDPOINT, ENV_ENDPOINT, UsageFailure, check_endpoint
from tidegate.runtime import DEFAULT_REGION
from tidegate.shim import SHIM_DIR


def env_lines(endpoint: str, key_id: str, key_secret: str, region: str, account_id: str) -> list[tuple[str, str]]:
    """The variables ``tidegate env`` exports, in order."""
    return [
        ("TIDEGATE_ENDPOINT", endpoint),
        (ENV_ID, key_id),
        (ENV_SECRET, key_secret),
        ("PYTHONPATH", str(SHIM_DIR) + "${PYTHONPATH:+:$PYTHONPATH}"),
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", key_id),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", key_secret),
        ("ALIYUN_ACCESS_KEY_ID", key_id),
        ("ALIYUN_ACCESS_KEY_SECRET", key_secret),
        ("AK_ID", key_id),
        ("AK_SECRET", key_secret),
        ("REGION", region),
        ("ACCOUNT_ID", account_id),
    ]


@main.command("env")
@click.option(
    "--data",
    "data_dir",
    default=".tidegate",
    show_default=True,
    type=click.Path(path_type=Path),
    help="The server's data folder (where its root key is kept).",
)
@click.option(
    "--endpoint",
    envvar=ENV_ENDPOINT,
    default=DEFAULT_ENDPOINT,
    show_default=True,
    help=f"The server's URL [env {ENV_ENDPOINT}].",
)
def env_command(data_dir: Path, endpoint: str) -> None:
    """Print shell lines that point the official SDKs and tidegate's own commands at a server.

    Use it as eval "$(tidegate env)". A warning goes to stderr when no server answers at the endpoint.
    """
    endpoint = check_endpoint(endpoint)
    if not (os.environ.get(ENV_ID) and os.environ.get(ENV_SECRET)) and not (data_dir / ROOT_KEY_FILE).exists():
        raise UsageFailure(
            f"no access key: start `tidegate server --data {data_dir}` once (it creates one), or set {ENV_ID} "
            f"and {ENV_SECRET}"
        )
    key, _ = load_or_create_root_key(data_dir, os.environ)
    region = os.environ.get("TIDEGATE_REGION") or DEFAULT_REGION
    _warn_unless_serving(endpoint)
    click.echo(f'# tidegate at {endpoint}: eval "$(tidegate env)"')
    for name, value in env_lines(endpoint, key.id, key.secret, region, key.account_id):
        quoted = f'"{value}"' if name == "PYTHONPATH" else shlex.quote(value)
        click.echo(f"export {name}={quoted}")


def _warn_unless_serving(endpoint: str) -> None:
    """Say on stderr (the exports still go to stdout) when nothing answers ``/healthz`` at ``endpoint``."""
    try:
        ok = httpx.get(endpoint + "/healthz", timeout=2.0).status_code == 200
        why = "" if ok else "it does not answer /healthz"
    except httpx.HTTPError as exc:
        ok, why = False, str(exc) or type(exc).__name__
    if not ok:
        click.echo(
            f"warning: no tidegate server answers at {endpoint} ({why}); start one with `tidegate server`", err=True
        )
