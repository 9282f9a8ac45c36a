"""``tidegate deploy`` / ``tidegate destroy``: apply or remove a deploy file on a running server."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import click
import httpx

from tidegate.auth.keys import ENV_ID, ENV_SECRET, ROOT_KEY_FILE, load_or_create_root_key
from tidegate.cli._app import main
from tidegate.deploy.apply import Deployer, Step
from tidegate.deploy.serve import deploy_directory, deploy_files
from tidegate.deploy.spec import load_deploy_file
from tidegate.errors import TidegateError

__all__ = ["deploy_command", "destroy_command"]


def _keys(data_dir: Path) -> tuple[str, str]:
    if os.environ.get(ENV_ID) and os.environ.get(ENV_SECRET):
        return os.environ[ENV_ID], os.environ[ENV_SECRET]
    if not (data_dir / ROOT_KEY_FILE).is_file():
        raise click.ClickException(
            f"no access key: set {ENV_ID} and {ENV_SECRET}, or point --data at the server's data folder"
        )
    key, _ = load_or_create_root_key(data_dir, {})
    return key.id, key.secret


def _run(target: Path, endpoint: str, data_dir: Path, action: Callable[[Deployer, Path], object]) -> None:
    key_id, secret = _keys(data_dir)

    def report(step: Step) -> None:
        click.echo(str(step))

    try:
        with Deployer(endpoint, key_id, secret, report=report) as deployer:
            action(deployer, target)
    except TidegateError as exc:
        raise click.ClickException(exc.message) from None
    except httpx.HTTPError as exc:
        raise click.ClickException(f"cannot reach the server at {endpoint}: {exc}") from None


def _options(f: Callable[..., None]) -> Callable[..., None]:
    f = click.option(
        "--data",
        "data_dir",
        default=".tidegate",
        show_default=True,
        type=click.Path(file_okay=False, path_type=Path),
        help=f"The server's data folder, for its root key (unless {ENV_ID}/{ENV_SECRET} are set).",
    )(f)
    f = click.option(
        "--endpoint",
        envvar="TIDEGATE_ENDPOINT",
        default="http://127.0.0.1:8787",
        show_default=True,
        help="The server's URL [env TIDEGATE_ENDPOINT].",
    )(f)
    return click.argument("target", type=click.Path(exists=True, path_type=Path))(f)


@main.command("deploy")
@_options
def deploy_command(target: Path, endpoint: str, data_dir: Path) -> None:
    """Create or update what TARGET declares (a deploy.yaml, or a folder of */deploy.yaml).

    Prints one line per resource: created, updated or unchanged.
    """

    def action(deployer: Deployer, path: Path) -> None:
        deploy_directory(path, deployer)

    _run(target, endpoint, data_dir, action)


@main.command("destroy")
@_options
def destroy_command(target: Path, endpoint: str, data_dir: Path) -> None:
    """Delete what TARGET (a deploy.yaml, or a folder as for deploy) declares."""

    def action(deployer: Deployer, path: Path) -> None:
        for file in reversed(deploy_files(path)):  # the reverse of the deploy order
            deployer.destroy(load_deploy_file(file))

    _run(target, endpoint, data_dir, action)
