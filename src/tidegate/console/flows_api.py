"""Console endpoints for flows and executions (thin: they call :class:`WorkflowService`)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from tidegate.api.rest_render import event_doc, execution_doc, flow_doc
from tidegate.api.rpc_params import Params
from tidegate.console.graph import flow_graph
from tidegate.console.projection import project
from tidegate.console.web import ConsoleServices, Invalid
from tidegate.errors import FlowError
from tidegate.flow import Flow, load_flow
from tidegate.jsontext import compact
from tidegate.store import ExecutionRecord

__all__ = ["FLOW_ROUTES"]

#: Events per progress answer: the page asks again at once while ``more`` is true.
EVENTS_PER_POLL = 1000
#: Runs of one step returned to the step panel (the latest ones).
RUNS_PER_STEP = 50
#: Flows scanned by the search box (names and descriptions).
SEARCH_SCAN = 5000
#: 9999-12-31T23:59:59.999Z: the latest time a time filter takes.
MAX_TIME_MS = 253_402_300_799_999


def _int(req: Request, name: str, default: int, lo: int, hi: int) -> int:
    return Params(req.query_params).int(name, default, lo, hi)


def _time_ms(req: Request, name: str) -> int | None:
    """Epoch milliseconds (up to the end of year 9999) or an RFC 3339 time (UTC when it has no offset)."""
    raw = req.query_params.get(name)
    if not raw:
        return None
    if raw.isascii() and raw.isdigit():
        return _int(req, name, 0, 0, MAX_TIME_MS)
    time_ms = Params(req.query_params).time_ms(name)
    if time_ms is None or not -MAX_TIME_MS <= time_ms <= MAX_TIME_MS:
        raise Invalid(f"The parameter {name!r} is not a time.")
    return time_ms


def _load(definition: str) -> Flow | None:
    try:
        return load_flow(definition)
    except FlowError:
        return None  # a definition the current loader refuses is still listed, without a graph


def list_flows(s: ConsoleServices, req: Request, body: dict[str, Any]) -> Any:
    """Flows by name; ``q`` filters by a case-insensitive substring of the name or description."""
    q = req.query_params.get("q", "").strip().lower()
    limit = _int(req, "limit", 50, 1, 500)
    token = req.query_params.get("next_token") or None
    if not q:
        page = s.ctx.service.list_flows(limit, token)
        return {"flows": [_flow_row(f) for f in page.items], "next_token": page.next_token}
    hits, cursor, scanned = [], None, 0
    while scanned < SEARCH_SCAN:
        page = s.ctx.service.list_flows(500, cursor)
        scanned += len(page.items)
        hits += [f for f in page.items if q in f.name.lower() or q in f.description.lower()]
        cursor = page.next_token
        if cursor is None:
            break
    start = _int(req, "next_token", 0, 0, SEARCH_SCAN) if token else 0
    page_items = hits[start : start + limit]
    more = start + limit < len(hits)
    return {"flows": [_flow_row(f) for f in page_items], "next_token": str(start + limit) if more else None}


def _flow_row(f: Any) -> dict[str, Any]:
    doc = flow_doc(f)
    doc.pop("definition")
    return doc


def get_flow(s: ConsoleServices, req: Request, body: dict[str, Any]) -> Any:
    """A flow with its graph."""
    record = s.ctx.service.describe_flow(req.path_params["flow"])
    flow = _load(record.definition)
    return {**flow_doc(record), "graph": flow_graph(flow) if flow else None}


def list_executions(s: ConsoleServices, req: Request, body: dict[str, Any]) -> Any:
    """A flow's executions (store order: oldest first), with status, name prefix and time filters."""
    page = s.ctx.service.list_executions(
        req.path_params["flow"],
        status=req.query_params.get("status") or None,
        name_prefix=req.query_params.get("prefix") or None,
        started_from_ms=_time_ms(req, "from"),
        started_to_ms=_time_ms(req, "to"),
        limit=_int(req, "limit", 25, 1, 200),
        next_token=req.query_params.get("next_token") or None,
    )
    rows = [_execution_row(e) for e in page.items]
    return {"executions": rows, "next_token": page.next_token}


def _execution_row(e: ExecutionRecord, drop: tuple[str, ...] = ("definition", "input", "output")) -> dict[str, Any]:
    doc = execution_doc(e)
    for key in drop:
        doc.pop(key)
    return doc


def start_execution(s: ConsoleServices, req: Request, body: dict[str, Any]) -> Any:
    """Start an execution: ``{"name"?: str, "input": object}``."""
    name, value = body.get("name") or None, body.get("input", {})
    if name is not None and not isinstance(name, str):
        raise Invalid("The execution name must be a string.")
    if not isinstance(value, dict):
        raise Invalid("The input must be a JSON object.")
    text = compact(value)
    record, created = s.ctx.service.start_execution(req.path_params["flow"], name, text)
    return (201 if created else 200), _execution_row(record)


def _execution(s: ConsoleServices, req: Request) -> ExecutionRecord:
    return s.ctx.service.describe_execution(req.path_params["flow"], req.path_params["execution"])


def get_execution(s: ConsoleServices, req: Request, body: dict[str, Any]) -> Any:
    """An execution with the graph of the definition it runs (its snapshot, not the flow's current one)."""
    record = _execution(s, req)
    flow = _load(record.definition)
    return {**execution_doc(record), "graph": flow_graph(flow) if flow else None, "event_count": record.event_count}


def progress(s: ConsoleServices, req: Request, body: dict[str, Any]) -> Any:
    """What changed after event ``after``: new events, node colours (when there are new events), status.

    The page polls this while the execution runs; an unchanged execution costs one row read.
    """
    after = _int(req, "after", 0, 0, 2**62)
    record = _execution(s, req)
    doc: dict[str, Any] = {
        "execution": _execution_row(record, drop=("definition", "input")),
        "events": [],
        "more": False,
    }
    if record.event_count <= after:
        return {**doc, "last_event_id": after}
    rows = s.ctx.store.get_history(record.id, after, EVENTS_PER_POLL)
    doc["events"] = [event_doc(r) for r in rows]
    doc["more"] = bool(rows) and rows[-1].event_id < record.event_count
    flow = _load(record.definition)
    # Colours come with the last slice only: while the page catches up (``more``) it asks again at once,
    # and projecting the whole history once per slice made a 5,000-event load quadratic.
    if flow is not None and not doc["more"]:
        doc["nodes"] = project(flow, s.ctx.store.get_history(record.id, 0, 10_000)).node_states()
    doc["last_event_id"] = rows[-1].event_id if rows else after
    return doc


def step_runs(s: ConsoleServices, req: Request, body: dict[str, Any]) -> Any:
    """One step's runs (latest :data:`RUNS_PER_STEP`): input, output, error, cause, attempts, token state."""
    path = req.query_params.get("path", "")
    record = _execution(s, req)
    flow = _load(record.definition)
    if flow is None or path not in flow.steps_by_path:
        raise Invalid(f"The execution's flow has no step at {path[:200]!r}.")
    runs = project(flow, s.ctx.store.get_history(record.id, 0, 10_000)).runs.get(path, [])
    out = []
    for run in runs[-RUNS_PER_STEP:]:
        doc = run.to_json()
        for attempt in doc["attempts"]:
            if attempt["pattern"] == "waitForCallback":
                task = s.ctx.store.get_task(record.id, attempt["task_key"])
                attempt["token_state"] = task.status if task else "unknown"
        out.append(doc)
    step = flow.steps_by_path[path]
    return {"path": path, "name": step.name, "type": step.type.value, "total": len(runs), "runs": out}


def stop_execution(s: ConsoleServices, req: Request, body: dict[str, Any]) -> Any:
    """Stop: ``{"error"?: str, "cause"?: str}``."""
    error, cause = body.get("error") or "", body.get("cause") or ""
    if not isinstance(error, str) or not isinstance(cause, str):
        raise Invalid("Error and cause must be strings.")
    record = s.ctx.service.stop_execution(req.path_params["flow"], req.path_params["execution"], error, cause)
    return _execution_row(record)


_E = "/flows/{flow}/executions/{execution}"
FLOW_ROUTES = [
    ("/flows", "GET", list_flows),
    ("/flows/{flow}", "GET", get_flow),
    ("/flows/{flow}/executions", "GET", list_executions),
    ("/flows/{flow}/executions", "POST", start_execution),
    (_E, "GET", get_execution),
    (_E + "/progress", "GET", progress),
    (_E + "/steps", "GET", step_runs),
    (_E + "/stop", "POST", stop_execution),
]
