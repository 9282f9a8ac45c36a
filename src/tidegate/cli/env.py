"""``tidegate env``: the shell lines that point the official SDKs and the source documents' programs here.

``eval "$(tidegate env)"`` in a shell, then run an unchanged worker program. The lines set
``TIDEGATE_ENDPOINT`` and put tidegate's ``sitecustomize`` shim first on ``PYTHONPATH`` (it redirects the
MNS SDKs, aliyunsdkcore's FnF requests and the Tea FnF client, which read no endpoint variable); the access
key under the names the SDKs' credential chains and the first source document's worker read; and the
region and account id.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import click

from tidegate.auth.keys import ENV_ID, ENV_SECRET, ROOT_KEY_FILE, load_or_create_root_key
from tidegate.cli._app import main
from tidegate.runtime import DEFAULT_REGION
from tidegate.shim import SHIM_DIR


def env_lines(endpoint: str, key_id: str, key_secret: str, region: str, account_id: str) -> list[tuple[str, str]]:
    """The variables ``tidegate env`` exports, in order."""
    return [
        ("TIDEGATE_ENDPOINT", endpoint),
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
@click.option("--endpoint", default="http://127.0.0.1:8787", show_default=True, help="The server's URL.")
def env_command(data_dir: Path, endpoint: str) -> None:
    """Print shell lines that point the official SDKs at a tidegate server: eval "$(tidegate env)"."""
    if not (os.environ.get(ENV_ID) and os.environ.get(ENV_SECRET)) and not (data_dir / ROOT_KEY_FILE).exists():
        raise click.ClickException(
            f"no access key: start `tidegate server --data {data_dir}` once (it creates one), or set {ENV_ID} "
            f"and {ENV_SECRET}"
        )
    key, _ = load_or_create_root_key(data_dir, os.environ)
    region = os.environ.get("TIDEGATE_REGION") or DEFAULT_REGION
    click.echo(f'# tidegate at {endpoint}: eval "$(tidegate env)"')
    for name, value in env_lines(endpoint.rstrip("/"), key.id, key.secret, region, key.account_id):
        quoted = f'"{value}"' if name == "PYTHONPATH" else shlex.quote(value)
        click.echo(f"export {name}={quoted}")
