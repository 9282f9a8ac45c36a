"""``tidegate run FLOW``: run one execution on a store and print its result.

The runtime started here drives every running execution of the store, so running again on the same store
after a crash (same ``--name``) resumes the execution instead of starting another one. Queue and topic task
steps send nothing: they are answered in process (``--respond``, ``--responses``, ``--worker``:
:mod:`tidegate.integrations.local_mns`).
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import click

from tidegate.api.fnf_render import execution_json, history_json
from tidegate.cli._app import main
from tidegate.cli.run_answers import build_local_mns, echo_sent
from tidegate.clock import now_ms
from tidegate.errors import FlowError, FlowValidationError
from tidegate.flow import load_flow_file
from tidegate.flow.model import Flow, ResourceKind
from tidegate.integrations import Registry
from tidegate.jsontext import JsonTextError, compact
from tidegate.jsontext import parse as parse_json
from tidegate.runtime import START, Runtime, load_signer
from tidegate.status import ExecutionStatus
from tidegate.store import (
    ExecutionAlreadyExists,
    ExecutionRecord,
    FlowNotFound,
    FlowRecord,
    Store,
    execution_channel,
    open_store,
)

_NAME_SAFE = re.compile(r"[^A-Za-z0-9_-]")


def _flow_name(flow: Flow, path: Path, override: str | None) -> str:
    if override:
        return override
    if flow.name:
        return flow.name
    name = _NAME_SAFE.sub("_", path.name.split(".")[0]) or "flow"
    return name if re.match(r"[A-Za-z_]", name) else f"_{name}"


def _ensure_flow(store: Store, name: str, definition: str) -> None:
    now = now_ms()
    try:
        existing = store.get_flow(name)
    except FlowNotFound:
        store.create_flow(
            FlowRecord(name=name, id=str(uuid.uuid4()), definition=definition, created_ms=now, modified_ms=now)
        )
        return
    if existing.definition != definition:
        store.update_flow(name, modified_ms=now, definition=definition)


def _wait_until_ended(store: Store, record: ExecutionRecord, timeout_s: float | None) -> ExecutionRecord:
    channel = execution_channel(record.id)
    deadline = None if timeout_s is None else now_ms() + int(timeout_s * 1000)
    while True:
        seq = store.notifier.seq()
        record = store.get_execution_by_id(record.id)
        if record.ended:
            return record
        if deadline is not None and now_ms() >= deadline:
            return record
        store.notifier.wait(channel, 1.0, since=seq)


def _describe(store: Store, r: ExecutionRecord) -> dict[str, Any]:
    """DescribeExecution's fields (``Error``/``Cause`` when it did not succeed) and the whole history."""
    out = execution_json(r)
    del out["FlowDefinition"]  # the file the user just ran
    if r.ended and r.status != ExecutionStatus.SUCCEEDED:
        out["Error"] = r.error or ""
        out["Cause"] = r.cause or ""
    events: list[dict[str, Any]] = []
    after = 0
    while rows := store.get_history(r.id, after_event_id=after, limit=1000):
        events.extend(history_json(h) for h in rows)
        after = rows[-1].event_id
    out["Events"] = events
    return out


@main.command("run")
@click.argument("flow_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--input", "input_text", default="{}", show_default=True, help="The execution input (a JSON object).")
@click.option(
    "--functions",
    "functions_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Local functions: DIR/SERVICE/FUNCTION.py with handler(event, context).",
)
@click.option(
    "--store",
    "store_url",
    help="Store URL (sqlite:///path or postgresql://…); default: a temporary SQLite file.",
)
@click.option("--name", "execution_name", help="Execution name; running again with it resumes or shows that execution.")
@click.option("--flow-name", help="Flow name (default: the flow's `name`, else the file name).")
@click.option("--json", "as_json", is_flag=True, help="Print DescribeExecution fields and the history as JSON.")
@click.option("--timeout", "timeout_s", type=float, help="Give up waiting after this many seconds (exit 1).")
@click.option(
    "--respond",
    multiple=True,
    metavar="STEP=JSON",
    help="Answer a queue or topic task step: a JSON object is its callback output, "
    '{"error": E, "cause": C} a failure; repeat a step for successive attempts.',
)
@click.option(
    "--responses",
    "responses_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A YAML or JSON file mapping step names to a reply or a list of replies (successive attempts).",
)
@click.option(
    "--worker",
    "worker_specs",
    multiple=True,
    metavar="[STEP=]MODULE:FUNCTION",
    help="A tidegate.sdk handler that answers waitForCallback queue and topic steps in this process "
    "(STEP= for one step only).",
)
@click.option("--verbose", "-v", is_flag=True, help="Show every message a step sends (on stderr).")
def run_command(
    flow_file: Path,
    input_text: str,
    functions_dir: Path | None,
    store_url: str | None,
    execution_name: str | None,
    flow_name: str | None,
    as_json: bool,
    timeout_s: float | None,
    respond: tuple[str, ...],
    responses_file: Path | None,
    worker_specs: tuple[str, ...],
    verbose: bool,
) -> None:
    """Run FLOW_FILE once and print the result; exit 0 when the execution succeeded."""
    try:
        flow = load_flow_file(flow_file)
    except FlowValidationError as exc:
        for issue in exc.issues:
            click.echo(str(issue), err=True)
        sys.exit(2)
    except FlowError as exc:
        click.echo(f"{flow_file}: {exc}", err=True)
        sys.exit(2)
    try:
        data = parse_json(input_text, "the input")
    except JsonTextError as exc:
        raise click.BadParameter(exc.message, param_hint="--input") from None
    if not isinstance(data, dict):
        raise click.BadParameter("the input must be a JSON object", param_hint="--input")
    local_mns = build_local_mns(flow, respond, responses_file, worker_specs, echo_sent if verbose else None)
    registry = Registry()
    registry.register(ResourceKind.QUEUE, local_mns)
    registry.register(ResourceKind.TOPIC, local_mns)

    tmp = None
    if store_url is None:
        tmp = tempfile.TemporaryDirectory(prefix="tidegate-run-")
        store_url = f"sqlite:///{tmp.name}/tidegate.db"
    store = open_store(store_url)
    try:
        name = _flow_name(flow, flow_file, flow_name)
        definition = flow_file.read_text(encoding="utf-8")
        _ensure_flow(store, name, definition)
        record = ExecutionRecord(
            flow_name=name,
            name=execution_name or str(uuid.uuid4()),
            definition=definition,
            input=compact(data),
            started_ms=now_ms(),
        )
        try:
            record, _ = store.create_execution(record, {"type": START})
        except ExecutionAlreadyExists:
            record = store.get_execution(name, record.name)
        if not record.ended:
            with Runtime(store, signer=load_signer(store), functions_dir=functions_dir, registry=registry):
                record = _wait_until_ended(store, record, timeout_s)
        _print(store, record, as_json)
    finally:
        store.close()
        if tmp is not None:
            tmp.cleanup()
    sys.exit(0 if record.status == ExecutionStatus.SUCCEEDED else 1)


def _print(store: Store, record: ExecutionRecord, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(_describe(store, record), ensure_ascii=False, indent=2))
        return
    click.echo(f"{record.flow_name}/{record.name}: {record.status}")
    if record.status == ExecutionStatus.SUCCEEDED:
        click.echo(record.output or "{}")
    elif record.ended:
        click.echo(f"error: {record.error or ''}\ncause: {record.cause or ''}")
    else:
        click.echo("(still running; run again with the same --store and --name to resume)")
