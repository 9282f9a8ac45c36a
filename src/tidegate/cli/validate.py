"""``tidegate validate PATH...``: check flow definition files without running them."""

from __future__ import annotations

import json
from pathlib import Path

import click

from tidegate.cli._app import main
from tidegate.errors import FlowIssue
from tidegate.flow import validate_flow

__all__ = ["validate_command", "validate_file"]


def validate_file(path: str) -> list[FlowIssue]:
    """Every issue of the flow definition in the file at ``path`` (an unreadable file is an issue)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [FlowIssue("", f"cannot read the file: {exc}", None, path)]
    return validate_flow(text, source=path)


@main.command("validate")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--json", "as_json", is_flag=True, help="Print the issues as a JSON list.")
def validate_command(paths: tuple[str, ...], as_json: bool) -> None:
    """Validate FDL flow definitions; exit 0 only when every file is valid."""
    found: list[FlowIssue] = []
    for path in paths:
        issues = validate_file(path)
        found.extend(issues)
        if not as_json:
            if issues:
                for issue in issues:
                    click.echo(str(issue))
            else:
                click.echo(f"{path}: ok")
    if as_json:
        click.echo(json.dumps([{**issue.to_dict(), "file": issue.source} for issue in found], indent=2))
    raise SystemExit(1 if found else 0)
