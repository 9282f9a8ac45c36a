"""The root click group."""

from __future__ import annotations

import click

from tidegate import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tidegate")
def main() -> None:
    """tidegate: Serverless Workflow flows, queues and topics on one self-hosted server."""
