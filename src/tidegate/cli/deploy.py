"""``tidegate deploy`` / ``tidegate destroy``: apply or remove a deploy file on a running server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from tidegate.cli._app import main
from tidegate.cli._client import Connection, connection_options
from tidegate.deploy.apply import Deployer, Step
from tidegate.deploy.serve import deploy_directory, deploy_files
from tidegate.deploy.spec import load_deploy_file

__all__ = ["deploy_command", "destroy_command"]


def _run(target: Path, conn: Connection, action: Callable[[Deployer, Path], object]) -> None:
    def report(step: Step) -> None:
        click.echo(str(step))

    # Errors (a refused step, an unreachable server) reach the root command, which reports them in one line.
    with Deployer(conn.endpoint, conn.access_key_id, conn.access_key_secret, report=report) as deployer:
        action(deployer, target)


def _options(f: Callable[..., None]) -> Callable[..., None]:
    f = connection_options(f)
    return click.argument("target", type=click.Path(exists=True, path_type=Path))(f)


@main.command("deploy")
@_options
def deploy_command(target: Path, conn: Connection) -> None:
    """Create or update what TARGET declares (a deploy.yaml, or a folder of */deploy.yaml).

    Prints one line per resource: created, updated or unchanged.
    """

    def action(deployer: Deployer, path: Path) -> None:
        deploy_directory(path, deployer)

    _run(target, conn, action)


@main.command("destroy")
@_options
def destroy_command(target: Path, conn: Connection) -> None:
    """Delete what TARGET (a deploy.yaml, or a folder as for deploy) declares."""

    def action(deployer: Deployer, path: Path) -> None:
        for file in reversed(deploy_files(path)):  # the reverse of the deploy order
            deployer.destroy(load_deploy_file(file))

    _run(target, conn, action)
