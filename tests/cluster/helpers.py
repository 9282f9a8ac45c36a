"""Real ``tidegate server`` processes sharing one store, and a journaling function (tests/cluster)."""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.server import TEST_KEYS, ServerProcess

KEY = (TEST_KEYS["TIDEGATE_ACCESS_KEY_ID"], TEST_KEYS["TIDEGATE_ACCESS_KEY_SECRET"])
FLOW = "cluster-slow"
#: A task step calling the journaling function with the attempt's token, the journal and how long to take.
SLOW_FLOW = """\
version: v1
type: flow
steps:
  - type: task
    name: work
    resourceArn: acs:fc:::services/cluster/functions/slow
    inputMappings:
      - target: token
        source: $context.task.token
      - target: journal
        source: $input.journal
      - target: seconds
        source: $input.seconds
"""

_SLOW = """
import fcntl, json, os, time


def _log(path, *fields):
    with open(path, "a", encoding="utf-8") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write(json.dumps(fields) + "\\n")


def handler(event, context):
    data = json.loads(event)
    _log(data["journal"], "start", data["token"], os.getppid(), time.time())
    time.sleep(float(data["seconds"]))
    _log(data["journal"], "end", data["token"], os.getppid(), time.time())
    return {"done": True}
"""


@dataclass(frozen=True)
class Invocation:
    """One journal line: ``start`` or ``end`` of an invocation of the attempt ``token``, in the worker whose
    parent (the server process) is ``server_pid``, at ``at`` (epoch seconds)."""

    phase: str
    token: str
    server_pid: int
    at: float


def journal(path: Path) -> list[Invocation]:
    """The invocations recorded so far."""
    if not path.exists():
        return []
    return [Invocation(*json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


def write_functions(root: Path) -> Path:
    """The ``--functions`` folder with ``cluster/slow``."""
    (root / "cluster").mkdir(parents=True, exist_ok=True)
    (root / "cluster" / "slow.py").write_text(textwrap.dedent(_SLOW))
    return root


def server(base: Path, name: str, store_url: str | None, functions: Path) -> ServerProcess:
    """A server with its own data folder ``base/name`` on ``store_url`` (None: its data folder's SQLite).

    Its functions run with ``process`` isolation: they write a journal into the test's private temporary
    folder, which the workers' own uids of ``user`` isolation may not reach (tests/functions covers that).
    """
    store = ["--store", store_url] if store_url else []
    env = {**TEST_KEYS, "TIDEGATE_REGION": "", "TIDEGATE_ACCOUNT_ID": "", "TIDEGATE_FUNCTION_ISOLATION": "process"}
    return ServerProcess(base / name, env=env, args=[*store, "--functions", str(functions)])


def rest(srv: ServerProcess) -> httpx.Client:
    """A REST client of ``srv`` with the root key."""
    return httpx.Client(base_url=srv.url + "/api/v1", auth=KEY, timeout=30)


def create_flow(srv: ServerProcess) -> None:
    with rest(srv) as api:
        r = api.post("/flows", json={"name": FLOW, "definition": SLOW_FLOW})
        assert r.status_code == 201, r.text


def start_executions(srv: ServerProcess, prefix: str, n: int, journal_path: Path, seconds: float) -> None:
    with rest(srv) as api:
        for i in range(n):
            body = {"name": f"{prefix}{i}", "input": {"journal": str(journal_path), "seconds": seconds}}
            r = api.post(f"/flows/{FLOW}/executions", json=body)
            assert r.status_code == 201, r.text


def statuses(srv: ServerProcess) -> dict[str, str]:
    with rest(srv) as api:
        r = api.get(f"/flows/{FLOW}/executions", params={"limit": 100})
        assert r.status_code == 200, r.text
        return {x["name"]: x["status"] for x in r.json()["executions"]}


def pid_of(srv: ServerProcess) -> int:
    assert srv.proc is not None
    return srv.proc.pid


def running_on(path: Path, pid: int) -> set[str]:
    """Tokens whose invocation started in a worker of server ``pid`` and has not ended there."""
    started = {i.token for i in journal(path) if i.phase == "start" and i.server_pid == pid}
    ended = {i.token for i in journal(path) if i.phase == "end" and i.server_pid == pid}
    return started - ended
