"""The root click group: ``--debug`` and the one place where errors become a line for people."""

from __future__ import annotations

from typing import Any

import click

from tidegate import __version__
from tidegate.cli._client import cli_error


class _Root(click.Group):
    """Runs a subcommand; any error it raises is reported as one line (with ``--debug``: the traceback)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            if ctx.params.get("debug"):
                raise
            raise cli_error(exc) from None


@click.group(cls=_Root, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tidegate")
@click.option("--debug", is_flag=True, help="Show the Python traceback of an error instead of one line.")
def main(debug: bool) -> None:
    """tidegate: Serverless Workflow flows, queues and topics on one self-hosted server."""
