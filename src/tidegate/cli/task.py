"""``tidegate task``: the tasks that wait for a callback (``waitForCallback``): list them, report a result
or a heartbeat.

A worker usually reports with an SDK (ReportTaskSucceeded / ReportTaskFailed / ReportTaskHeartbeat); these
commands do the same over the REST API (``POST /api/v1/tasks/succeeded|failed|heartbeat``), for scripts and
by hand; ``task list`` reads ``GET /api/v1/tasks``.
"""

from __future__ import annotations

import click

from tidegate.cli._app import main
from tidegate.cli._client import Connection, connection_options, echo_json
from tidegate.cli.executions import collect, json_object, table

__all__ = ["task_group"]


@main.group("task")
def task_group() -> None:
    """List the tasks waiting on a callback; report a waiting task's result or heartbeat by its token."""


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


@task_group.command("heartbeat")
@click.argument("token")
@connection_options
def heartbeat(token: str, conn: Connection) -> None:
    """Report that the worker of TOKEN's task is still at it (its heartbeatSeconds deadline moves on)."""
    with conn.api() as api:
        api.call("POST", "/tasks/heartbeat", body={"token": token})
    click.echo("heartbeat recorded")


@task_group.command("list")
@click.option("--flow", help="Only the tasks of this flow.")
@click.option("--newest", is_flag=True, help="Newest first (default: the longest waiting first).")
@click.option("--limit", type=click.IntRange(1, 100000), default=100, show_default=True, help="At most this many.")
@click.option("--json", "as_json", is_flag=True, help='Print {"tasks": [...], "next_token"} as the API does.')
@connection_options
def list_(flow: str | None, newest: bool, limit: int, as_json: bool, conn: Connection) -> None:
    """List the tasks waiting on a callback, across flows: flow, execution, step, task, target, attempt,
    waiting since, last heartbeat and deadline."""
    params: dict[str, str | int] = {"status": "waiting", "sort": "-age" if newest else "age"}
    if flow:
        params["flow"] = flow
    with conn.api() as api:
        doc = collect(api, "/tasks", "tasks", limit, params)
    if as_json:
        echo_json(doc)
        return
    rows = [
        (
            t["flow_name"],
            t["execution_name"],
            t["step_name"] or "",
            t["task"],
            t["resource"] or "",
            "" if t["attempt"] is None else str(t["attempt"]),
            t["waiting_since"],
            t["last_heartbeat"] or "-",
            t["deadline"] or "none",
        )
        for t in doc["tasks"]
    ]
    if not rows:
        click.echo("no task is waiting" + (f" in flow {flow}" if flow else ""), err=True)
        return
    headers = ("FLOW", "EXECUTION", "STEP", "TASK", "TARGET", "ATTEMPT", "WAITING SINCE", "LAST HEARTBEAT", "DEADLINE")
    table(headers, rows)
    if doc["next_token"]:
        click.echo(f"(more than {limit}; raise --limit to see them)", err=True)
