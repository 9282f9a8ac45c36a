"""``tidegate task``: report the result of a task that waits for a callback (``waitForCallback``).

A worker usually reports with an SDK (ReportTaskSucceeded / ReportTaskFailed); these commands do the same
over the REST API (``POST /api/v1/tasks/succeeded|failed``), for scripts and by hand.
"""

from __future__ import annotations

import click

from tidegate.cli._app import main
from tidegate.cli._client import Connection, connection_options, echo_json
from tidegate.cli.executions import json_object

__all__ = ["task_group"]


@main.group("task")
def task_group() -> None:
    """Report the result of a waiting task by its task token."""


@task_group.command("succeed")
@click.argument("token")
@click.option("--output", "output_text", default="{}", show_default=True, help="The task's output, a JSON object.")
@click.option("--json", "as_json", is_flag=True, help='Print the API\'s answer {"event_id": N}.')
@connection_options
def succeed(token: str, output_text: str, as_json: bool, conn: Connection) -> None:
    """Report that the task of TOKEN succeeded with OUTPUT; its execution moves on."""
    output = json_object("--output", output_text)
    with conn.api() as api:
        _, doc = api.call("POST", "/tasks/succeeded", body={"token": token, "output": output})
    if as_json:
        echo_json(doc)
    else:
        click.echo(f"reported success (event {doc['event_id']})")


@task_group.command("fail")
@click.argument("token")
@click.option("--error", required=True, help="The error name (1-128 characters); catch and retry match on it.")
@click.option("--cause", default="", help="Why (up to 4096 characters).")
@click.option("--json", "as_json", is_flag=True, help='Print the API\'s answer {"event_id": N}.')
@connection_options
def fail(token: str, error: str, cause: str, as_json: bool, conn: Connection) -> None:
    """Report that the task of TOKEN failed with ERROR and CAUSE."""
    body = {"token": token, "error": error, **({"cause": cause} if cause else {})}
    with conn.api() as api:
        _, doc = api.call("POST", "/tasks/failed", body=body)
    if as_json:
        echo_json(doc)
    else:
        click.echo(f"reported failure {error} (event {doc['event_id']})")
