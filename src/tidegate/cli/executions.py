"""``tidegate exec``: start, list, describe, stop executions on a running server and read their history.

The commands use the server's REST API (``/api/v1``): it has every operation they need (including the
long-poll that ``start --wait`` uses), takes and returns JSON values rather than JSON in strings, and needs
only HTTP Basic with the AccessKey. ``--json`` prints the API's documents unchanged.
"""

from __future__ import annotations

import json
import math
import sys
import time
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import click

from tidegate.cli._app import main
from tidegate.cli._client import (
    ApiClient,
    CliError,
    Connection,
    ExitCode,
    UsageFailure,
    connection_options,
    echo_json,
)
from tidegate.engine import TERMINAL, ExecutionStatus

__all__ = ["collect", "exec_group", "json_object", "table"]

#: Longest long-poll the server grants per request (seconds).
_MAX_WAIT_S = 60
_PAGE = 1000
_DETAIL_WIDTH = 160


def json_object(option: str, text: str) -> dict[str, Any]:
    """Parse an option's JSON object, or stop with a usage error that names the option."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise UsageFailure(f"{option} is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise UsageFailure(f'{option} must be a JSON object, like \'{{"key": "value"}}\'')
    return value


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], below: Sequence[Sequence[str]] | None = None) -> None:
    """Print rows under headers in aligned columns (the last column is not padded).

    ``below[i]``: lines printed as they are under row ``i`` (not part of the columns).
    """
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    for i, row in enumerate([headers, *rows]):
        cells = [c.ljust(w) for c, w in zip(row[:-1], widths, strict=False)]
        click.echo("  ".join([*cells, row[-1]]).rstrip())
        if below is not None and i > 0:
            for line in below[i - 1]:
                click.echo(line)


def _compact(value: Any, width: int | None = None) -> str:
    text = "" if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if width is not None and len(text) > width:
        text = text[: width - 1] + "…"
    return text


def _path(flow: str, name: str | None = None) -> str:
    path = f"/flows/{quote(flow, safe='')}/executions"
    return path if name is None else f"{path}/{quote(name, safe='')}"


def _describe_text(doc: dict[str, Any]) -> None:
    lines = [
        ("execution", f"{doc['flow_name']}/{doc['name']}"),
        ("status", doc["status"]),
        ("started", doc.get("started_time") or ""),
        ("stopped", doc.get("stopped_time") or ""),
        ("input", _compact(doc.get("input"))),
    ]
    if doc["status"] == ExecutionStatus.SUCCEEDED:
        lines.append(("output", _compact(doc.get("output"))))
    if doc.get("error") or doc.get("cause"):
        lines += [("error", doc.get("error") or ""), ("cause", doc.get("cause") or "")]
    for label, value in lines:
        if value:
            click.echo(f"{label + ':':<10} {value}")


def collect(api: ApiClient, path: str, key: str, limit: int, params: dict[str, str | int]) -> dict[str, Any]:
    """Up to ``limit`` items of a listing, following ``next_token``: ``{key: items, "next_token": ...}``."""
    items: list[Any] = []
    token: str | None = None
    while len(items) < limit:
        query = {**params, "limit": min(_PAGE, limit - len(items))}
        if token:
            query["next_token"] = token
        _, doc = api.call("GET", path, params=query)
        page = doc[key]
        items += page
        token = doc.get("next_token") or None
        if not token or not page:
            break
    return {key: items, "next_token": token}


@main.group("exec")
def exec_group() -> None:
    """Start, list, describe and stop executions of flows on a running server, and read their history."""


@exec_group.command("start")
@click.argument("flow")
@click.option("--input", "input_text", default="{}", show_default=True, help="The execution's input, a JSON object.")
@click.option(
    "--name",
    help="The execution's name [default: cli-<uuid>]. Starting a running name again returns that execution.",
)
@click.option("--wait", is_flag=True, help="Wait for the end; exit 0 when it succeeded, 1 otherwise.")
@click.option(
    "--timeout",
    "timeout_s",
    type=click.FloatRange(min=0, min_open=True),
    help="With --wait: give up after this many seconds (exit 1).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the execution as the API's JSON.")
@connection_options
def start(
    flow: str,
    input_text: str,
    name: str | None,
    wait: bool,
    timeout_s: float | None,
    as_json: bool,
    conn: Connection,
) -> None:
    """Start an execution of FLOW."""
    if timeout_s is not None and not wait:
        raise UsageFailure("--timeout needs --wait")
    # The name is chosen here, not by the server, so that every name this command starts is one the
    # server's describe and history accept (they require a letter or "_" first).
    name = name if name is not None else f"cli-{uuid.uuid4()}"
    body: dict[str, Any] = {"input": json_object("--input", input_text), "name": name}
    with conn.api() as api:
        status, doc = api.call("POST", _path(flow), body=body)
        if wait:
            doc = _wait_for_end(api, flow, doc["name"], doc, timeout_s)
    if as_json:
        echo_json(doc)
    elif wait:
        _describe_text(doc)
    elif status == 201:
        click.echo(f"started {doc['flow_name']}/{doc['name']} ({doc['status']})")
    else:
        click.echo(f"{doc['flow_name']}/{doc['name']} is already running (not started again)")
    if wait and doc["status"] != ExecutionStatus.SUCCEEDED:
        sys.exit(ExitCode.FAILED)


def _wait_for_end(api: ApiClient, flow: str, name: str, doc: dict[str, Any], timeout_s: float | None) -> dict[str, Any]:
    """Long-poll the execution until it ends (or ``timeout_s`` passes: a :class:`CliError`)."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while doc["status"] not in TERMINAL:
        remaining = _MAX_WAIT_S if deadline is None else deadline - time.monotonic()
        if remaining <= 0:
            raise CliError(f"{flow}/{name} is still {doc['status']} after {timeout_s:g} s")
        wait = max(1, min(_MAX_WAIT_S, math.ceil(remaining)))
        _, doc = api.call("GET", _path(flow, name), params={"wait": wait}, timeout=wait + 30)
    return doc


@exec_group.command("list")
@click.argument("flow")
@click.option("--status", type=click.Choice([s.value for s in ExecutionStatus]), help="Only executions in this status.")
@click.option("--limit", type=click.IntRange(1, 100000), default=100, show_default=True, help="At most this many.")
@click.option("--json", "as_json", is_flag=True, help='Print {"executions": [...], "next_token"} as the API does.')
@connection_options
def list_(flow: str, status: str | None, limit: int, as_json: bool, conn: Connection) -> None:
    """List executions of FLOW, oldest first: name, status, start and stop times."""
    params: dict[str, str | int] = {} if status is None else {"status": status}
    with conn.api() as api:
        doc = collect(api, _path(flow), "executions", limit, params)
    if as_json:
        echo_json(doc)
        return
    rows = [(e["name"], e["status"], e["started_time"] or "", e.get("stopped_time") or "") for e in doc["executions"]]
    if not rows:
        click.echo(f"no executions of {flow}" + (f" in status {status}" if status else ""), err=True)
        return
    table(("NAME", "STATUS", "STARTED", "STOPPED"), rows)
    if doc["next_token"]:
        click.echo(f"(more than {limit}; raise --limit to see them)", err=True)


@exec_group.command("describe")
@click.argument("flow")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the execution as the API's JSON.")
@connection_options
def describe(flow: str, name: str, as_json: bool, conn: Connection) -> None:
    """Show execution NAME of FLOW: status, times, input, output or error."""
    with conn.api() as api:
        _, doc = api.call("GET", _path(flow, name))
    if as_json:
        echo_json(doc)
    else:
        _describe_text(doc)


#: The detail fields of a function invocation, shown under its event rather than in the DETAIL column.
_INVOCATION_FIELDS = ("requestId", "logTail", "logBytes", "stackTrace")


def _printable(line: str) -> str:
    """A line of a function's output with control characters escaped (no terminal escapes reach the screen)."""
    if line.isprintable():
        return line
    return "".join(c if c.isprintable() or c == "\t" else repr(c)[1:-1] for c in line)


def _invocation_lines(detail: Any) -> list[str]:
    """The request id, stack trace and log tail of a function task event, indented under its row."""
    if not isinstance(detail, dict) or not isinstance(detail.get("requestId"), str):
        return []
    lines = [f"    request: {_printable(detail['requestId'])}"]
    stack = detail.get("stackTrace")
    if isinstance(stack, list) and stack:
        lines.append("    stack trace:")
        lines += [f"      {_printable(line)}" for entry in stack for line in str(entry).splitlines()]
    tail, size = detail.get("logTail"), detail.get("logBytes")
    if isinstance(tail, str):
        shown = len(tail.encode("utf-8", "replace"))
        size = size if isinstance(size, int) else shown
        if not size:
            lines.append("    log: (no output)")
        else:
            lines.append(f"    log (the last {shown} of {size} bytes):" if shown < size else f"    log ({size} bytes):")
            lines += [f"      {_printable(line)}" for line in tail.splitlines()]
    return lines


@exec_group.command("history")
@click.argument("flow")
@click.argument("name")
@click.option(
    "--limit", type=click.IntRange(1, 100000), default=10000, show_default=True, help="At most this many events."
)
@click.option(
    "--no-logs", "no_logs", is_flag=True, help="Leave out the request id, stack trace and log tail of function tasks."
)
@click.option("--json", "as_json", is_flag=True, help='Print {"events": [...], "next_token"} as the API does.')
@connection_options
def history(flow: str, name: str, limit: int, no_logs: bool, as_json: bool, conn: Connection) -> None:
    """Show the history of execution NAME of FLOW: one event per line with time, type, step and detail.

    Under each event of a function task: its request id, the stack trace of a failure and the tail of
    what the function printed (--no-logs leaves them out; --json shows them as the detail's fields).
    """
    if no_logs and as_json:
        raise UsageFailure("--no-logs applies to the text output; --json prints every field")
    with conn.api() as api:
        doc = collect(api, _path(flow, name) + "/history", "events", limit, {})
    if as_json:
        echo_json(doc)
        return
    rows: list[tuple[str, ...]] = []
    extra: list[list[str]] = []
    for e in doc["events"]:
        detail = e.get("detail")
        shown = detail
        if isinstance(detail, dict):
            shown = {k: v for k, v in detail.items() if k not in _INVOCATION_FIELDS}
        step = e.get("step_name") or ""
        rows.append((str(e["event_id"]), e["time"], e["type"], step, _compact(shown, _DETAIL_WIDTH)))
        extra.append([] if no_logs else _invocation_lines(detail))
    table(("ID", "TIME", "TYPE", "STEP", "DETAIL"), rows, extra)
    if doc["next_token"]:
        click.echo(f"(more than {limit} events; raise --limit to see them)", err=True)


@exec_group.command("stop")
@click.argument("flow")
@click.argument("name")
@click.option("--error", default="", help="The error the execution stops with (up to 128 characters).")
@click.option("--cause", default="", help="Why (up to 4096 characters).")
@click.option("--json", "as_json", is_flag=True, help="Print the execution as the API's JSON.")
@connection_options
def stop(flow: str, name: str, error: str, cause: str, as_json: bool, conn: Connection) -> None:
    """Stop running execution NAME of FLOW."""
    body = {k: v for k, v in (("error", error), ("cause", cause)) if v}
    with conn.api() as api:
        _, doc = api.call("POST", _path(flow, name) + "/stop", body=body)
    if as_json:
        echo_json(doc)
    elif doc["status"] == ExecutionStatus.STOPPED:
        click.echo(f"stopped {flow}/{name}")
    else:
        click.echo(f"stop requested: {flow}/{name} is {doc['status']}")
