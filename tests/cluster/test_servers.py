"""Several real ``tidegate server`` processes on one store: shared nonces, the nodes table, node failure.

* A signed RPC request replayed to another server is refused (the nonce is in the store).
* Every server lists every node (REST and console); a server stopped cleanly shows as stopped.
* A server SIGKILLed while running functions: the other server runs its work again within 5 s (without
  the release it waits for the 15 s job lease).
* A server restarted on its data folder (the same node) runs the work it was killed in at once.
* Two servers with one data folder: the second is refused.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cli.helpers import assert_one_line_error, tidegate
from tests.cluster.helpers import (
    FLOW,
    KEY,
    create_flow,
    journal,
    pid_of,
    rest,
    running_on,
    server,
    start_executions,
    statuses,
    write_functions,
)
from tests.server import ServerProcess, free_port
from tests.waiting import wait_until
from tidegate.auth.signatures import sign_rpc

#: The longest a dead server's work may wait before another server runs it (the acceptance bound).
TAKEOVER_S = 5.0
#: The least time after a kill that the killed server's job leases still hold (15 s leases renewed every 5 s).
LEASE_FLOOR_S = 10.0


@pytest.fixture
def two(pg_url: str, tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Servers A and B on one PostgreSQL schema, each with its own data folder."""
    functions = write_functions(tmp_path / "functions")
    a = server(tmp_path, "a", pg_url, functions)
    b = server(tmp_path, "b", pg_url, functions)
    try:
        a.start()
        b.start()
        yield a, b
    finally:
        for srv in (a, b):
            srv.kill()


def _signed_start(name: str) -> dict[str, str]:
    params = {
        "Action": "StartExecution",
        "Version": "2019-03-15",
        "Format": "JSON",
        "FlowName": FLOW,
        "ExecutionName": name,
        "Input": '{"journal": "/dev/null", "seconds": 0}',
        "AccessKeyId": KEY[0],
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": uuid.uuid4().hex,
        "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return {**params, "Signature": sign_rpc(KEY[1], "POST", params)}


@pytest.mark.postgres
def test_a_request_replayed_to_another_server_is_refused(two: tuple[ServerProcess, ServerProcess]) -> None:
    a, b = two
    create_flow(a)
    signed = _signed_start("replayed")
    first = httpx.post(a.url + "/", data=signed, timeout=30)
    assert first.status_code == 200, first.text
    for srv in (b, a):  # the same bytes to the other server, and to the first again
        again = httpx.post(srv.url + "/", data=signed, timeout=30)
        assert again.status_code == 403 and again.json()["Code"] == "SignatureNonceUsed", again.text
    fresh = httpx.post(b.url + "/", data=_signed_start("fresh"), timeout=30)  # a new nonce passes on B
    assert fresh.status_code == 200, fresh.text
    assert set(statuses(a)) == {"replayed", "fresh"}  # the replays started nothing


@pytest.mark.postgres
def test_every_server_lists_every_node(two: tuple[ServerProcess, ServerProcess]) -> None:
    a, b = two
    pids = {pid_of(a), pid_of(b)}
    for srv in (a, b):
        with rest(srv) as api:
            nodes = api.get("/nodes").json()["nodes"]
        assert {n["pid"] for n in nodes} == pids and {n["state"] for n in nodes} == {"live"}
        assert {n["address"] for n in nodes} == {a.url, b.url}
        assert all(0 <= n["last_seen_age_ms"] < 3000 for n in nodes)
    with httpx.Client(base_url=b.url, timeout=30) as console:
        assert console.get("/console/api/nodes").status_code == 401
        signed_in = console.post("/console/api/session", json={"access_key_id": KEY[0], "access_key_secret": KEY[1]})
        assert signed_in.status_code == 200, signed_in.text
        doc = console.get("/console/api/nodes").json()
    assert len(doc["nodes"]) == 2 and doc["this_node"] in {n["id"] for n in doc["nodes"]}
    metrics = httpx.get(a.url + "/metrics", auth=KEY, timeout=30).text
    assert "tidegate_nodes 2.0" in metrics and metrics.count("tidegate_node_last_seen_age_seconds{") == 2
    assert a.stop() == 0
    with rest(b) as api:
        states = {n["pid"]: n["state"] for n in api.get("/nodes").json()["nodes"]}
    assert states == {min(pids - {pid_of(b)}): "stopped", pid_of(b): "live"}


@pytest.mark.postgres
def test_a_killed_servers_work_runs_on_another_within_five_seconds(pg_url: str, tmp_path: Path) -> None:
    functions = write_functions(tmp_path / "functions")
    a = server(tmp_path, "a", pg_url, functions)
    b = server(tmp_path, "b", pg_url, functions)
    try:
        a.start()
        create_flow(a)
        log = tmp_path / "journal"
        # A runs as many functions as it has workers (4 on this machine), long ones; then B joins.
        start_executions(a, "load", 4, log, seconds=20)
        victim = pid_of(a)
        wait_until(lambda: len(running_on(log, victim)) == 4, timeout=30, message="A to run every function")
        b.start()
        in_flight = running_on(log, victim)
        assert len(in_flight) == 4  # still running when A is killed
        a.kill()
        killed_at = time.time()

        def taken_over() -> bool:
            return in_flight <= {i.token for i in journal(log) if i.phase == "start" and i.server_pid == pid_of(b)}

        wait_until(taken_over, timeout=TAKEOVER_S, interval=0.05, message="B to run A's functions again")
        restarted = [i.at - killed_at for i in journal(log) if i.token in in_flight and i.server_pid == pid_of(b)]
        assert max(restarted) < TAKEOVER_S  # without the release: A's 15 s job leases
        wait_until(lambda: set(statuses(b).values()) == {"Succeeded"}, timeout=60, message="every execution to end")
        with rest(b) as api:
            dead = [n for n in api.get("/nodes").json()["nodes"] if n["pid"] == victim]
        assert dead[0]["state"] == "dead" and dead[0]["released_time"] is not None
        assert "sent no heartbeat" in b.log()
    finally:
        a.kill()
        b.kill()


def test_a_restarted_server_runs_the_work_it_was_killed_in_at_once(tmp_path: Path) -> None:
    functions = write_functions(tmp_path / "functions")
    srv = server(tmp_path, "a", None, functions)  # the data folder's SQLite store: one node
    srv.start()
    try:
        create_flow(srv)
        log = tmp_path / "journal"
        start_executions(srv, "r", 3, log, seconds=3)
        first = pid_of(srv)
        wait_until(lambda: len(running_on(log, first)) == 3, timeout=30, message="the functions to run")
        srv.kill()
        killed_at = time.time()
        srv.start()
        again = pid_of(srv)
        wait_until(
            lambda: (
                {i.token for i in journal(log) if i.phase == "start" and i.server_pid == again}
                == running_on(log, first)
            ),
            timeout=TAKEOVER_S,
            interval=0.05,
            message="the restarted server to run its killed work again",
        )
        rerun = [i.at - killed_at for i in journal(log) if i.phase == "start" and i.server_pid == again]
        # The killed run's job leases (15 s, renewed every 5 s) last until at least 10 s after the kill: the
        # work ran before, so the restarted server released them (its start-up time is included here).
        assert max(rerun) < LEASE_FLOOR_S
        wait_until(lambda: set(statuses(srv).values()) == {"Succeeded"}, timeout=60, message="the executions")
        assert "a previous run of this node held" in srv.log()
    finally:
        srv.kill()


def test_two_servers_cannot_share_a_data_folder(tmp_path: Path) -> None:
    functions = write_functions(tmp_path / "functions")
    srv = server(tmp_path, "a", None, functions)
    srv.start()
    try:
        refused = tidegate("server", "--port", str(free_port()), "--data", str(srv.data_dir), env=srv.env, timeout=60)
        assert_one_line_error(refused, "another tidegate server runs with the data folder", "--data")
        assert refused.rc == 2
    finally:
        srv.kill()
