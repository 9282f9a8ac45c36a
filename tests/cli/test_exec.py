"""``tidegate exec`` and ``tidegate task`` against a real server, as subprocesses; their errors in one line."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.helpers import Result, assert_one_line_error, start, tidegate
from tests.conftest import REPO
from tests.server import TEST_KEYS, ServerProcess, free_port
from tests.waiting import wait_until

FLOW = "mns-queue-callback"
QUEUE = "fnf-demo"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path_factory.mktemp("exec-cli") / "data", env=TEST_KEYS)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def env(server: ServerProcess) -> dict[str, str]:
    """The variables `tidegate env` exports for the CLI itself, with the flow and its queue deployed."""
    env = {**TEST_KEYS, "TIDEGATE_ENDPOINT": server.url}
    r = tidegate("deploy", str(REPO / "examples" / "queue-callback" / "deploy.yaml"), env=env)
    assert r.rc == 0, r
    return env


def ok(*args: str, env: dict[str, str]) -> Result:
    r = tidegate(*args, env=env)
    assert r.rc == 0, r
    assert "Traceback" not in r.err
    return r


def token_for(name: str, env: dict[str, str], timeout_s: float = 30) -> str:
    """The task token execution ``name`` sent to the queue, read from its history (``exec history --json``)
    once the message is out (``TaskSubmitted``)."""
    found: list[str] = []

    def submitted() -> bool:
        r = tidegate("exec", "history", FLOW, name, "--json", env=env)
        if r.rc != 0:  # a background `exec start` may not have started it yet
            assert "ExecutionNotExists" in r.err, r
            return False
        events = r.json()["events"]
        if "TaskSubmitted" in [e["type"] for e in events]:
            found.append(next(e for e in events if e["type"] == "TaskScheduled")["detail"]["input"]["task_token"])
        return bool(found)

    wait_until(submitted, timeout=timeout_s, interval=0.2, message=f"{name} to send its message")
    return found[0]


def test_start_describe_list_history(env: dict[str, str]) -> None:
    name = "e-" + uuid.uuid4().hex[:8]
    started = ok("exec", "start", FLOW, "--input", '{"value": "one"}', "--name", name, "--json", env=env).json()
    assert (started["name"], started["flow_name"], started["input"]) == (name, FLOW, {"value": "one"})
    assert started["status"] in ("Starting", "Running")

    again = ok("exec", "start", FLOW, "--input", '{"value": "one"}', "--name", name, env=env)
    assert again.out.strip() == f"{FLOW}/{name} is already running (not started again)"

    doc = ok("exec", "describe", FLOW, name, "--json", env=env).json()
    assert doc["name"] == name and doc["status"] == "Running" and doc["output"] is None
    text = ok("exec", "describe", FLOW, name, env=env).out
    assert f"execution: {FLOW}/{name}" in text and "status:    Running" in text and '{"value":"one"}' in text

    listed = ok("exec", "list", FLOW, "--status", "Running", "--json", env=env).json()
    assert name in [e["name"] for e in listed["executions"]]
    assert all(e["status"] == "Running" for e in listed["executions"])
    table = ok("exec", "list", FLOW, env=env).out.splitlines()
    assert table[0].split() == ["NAME", "STATUS", "STARTED", "STOPPED"]
    assert any(line.split()[:2] == [name, "Running"] for line in table[1:])
    one = ok("exec", "list", FLOW, "--limit", "1", "--json", env=env).json()
    assert len(one["executions"]) == 1

    # The task step sends its message and waits: the history shows it, event by event.
    token = token_for(name, env)
    events = ok("exec", "history", FLOW, name, "--json", env=env).json()["events"]
    assert events[0]["type"] == "ExecutionStarted" and events[0]["detail"] == {"input": {"value": "one"}}
    assert [e["event_id"] for e in events] == list(range(1, len(events) + 1))
    lines = ok("exec", "history", FLOW, name, env=env).out.splitlines()
    assert lines[0].split() == ["ID", "TIME", "TYPE", "STEP", "DETAIL"]
    entered = next(line for line in lines if "StepEntered" in line).split()
    assert entered[0] == "2" and entered[3] == "Task_1" and entered[4].startswith('{"input":')

    # The message on the queue carries the same token (what a worker reads).
    bodies = [
        line.split("\t", 2)[2] for line in ok("queue", "receive", QUEUE, "--count", "16", env=env).out.splitlines()
    ]
    assert token in [json.loads(b)["task_token"] for b in bodies]
    stopped = ok("exec", "stop", FLOW, name, "--error", "Cancelled", "--cause", "by the test", "--json", env=env)
    assert stopped.json()["name"] == name

    def ended() -> bool:
        return bool(ok("exec", "describe", FLOW, name, "--json", env=env).json()["status"] == "Stopped")

    wait_until(ended, timeout=30, interval=0.2, message=f"{name} to end")
    doc = ok("exec", "describe", FLOW, name, "--json", env=env).json()
    assert (doc["error"], doc["cause"]) == ("Cancelled", "by the test")
    assert_one_line_error(tidegate("exec", "stop", FLOW, name, env=env), "InvalidArgument", "not running")


def _wait_proc(proc: subprocess.Popen[str]) -> Result:
    out, err = proc.communicate(timeout=90)
    return Result(proc.returncode, out, err)


def test_task_succeed_completes_a_waiting_callback_and_start_wait_exits_0(env: dict[str, str]) -> None:
    name = "s-" + uuid.uuid4().hex[:8]
    waiting = start("exec", "start", FLOW, "--name", name, "--wait", "--json", env=env)
    try:
        token = token_for(name, env)
        r = ok("task", "succeed", token, "--output", '{"shipped": true}', "--json", env=env)
        assert isinstance(r.json()["event_id"], int)
        done = _wait_proc(waiting)
    finally:
        waiting.kill()
    assert done.rc == 0, done
    doc = json.loads(done.out)
    assert doc["status"] == "Succeeded" and doc["output"]["shipped"] is True

    again = tidegate("task", "succeed", token, env=env)
    assert_one_line_error(again, "TaskAlreadyCompleted")


def test_task_fail_fails_the_execution_and_start_wait_exits_1(env: dict[str, str]) -> None:
    name = "f-" + uuid.uuid4().hex[:8]
    waiting = start("exec", "start", FLOW, "--input", '{"value": 1}', "--name", name, "--wait", env=env)
    try:
        token = token_for(name, env)
        r = ok("task", "fail", token, "--error", "OutOfStock", "--cause", "no widgets", env=env)
        assert r.out.startswith("reported failure OutOfStock (event ")
        done = _wait_proc(waiting)
    finally:
        waiting.kill()
    assert done.rc == 1, done
    assert f"execution: {FLOW}/{name}" in done.out and "status:    Failed" in done.out
    assert "OutOfStock" in done.out and "no widgets" in done.out


def test_task_list_shows_the_waiting_task_and_heartbeat_reaches_it(env: dict[str, str]) -> None:
    name = "l-" + uuid.uuid4().hex[:8]
    ok("exec", "start", FLOW, "--name", name, env=env)
    token = token_for(name, env)
    ok("task", "heartbeat", token, env=env)
    doc = ok("task", "list", "--flow", FLOW, "--json", env=env).json()
    (task,) = [t for t in doc["tasks"] if t["execution_name"] == name]
    assert task["step_name"] == "Task_1" and task["resource"].endswith(f"/queues/{QUEUE}/messages")
    assert task["attempt"] == 1 and task["last_heartbeat"] is not None and task["deadline"] is not None
    text = ok("task", "list", env=env).out
    assert text.splitlines()[0].split()[:4] == ["FLOW", "EXECUTION", "STEP", "TASK"]
    assert any(line.split()[:3] == [FLOW, name, "Task_1"] for line in text.splitlines())
    ok("task", "succeed", token, env=env)
    gone = ok("task", "list", "--flow", FLOW, "--json", env=env).json()
    assert name not in [t["execution_name"] for t in gone["tasks"]]
    assert_one_line_error(tidegate("task", "heartbeat", token, env=env), "TaskAlreadyCompleted")
    assert_one_line_error(tidegate("task", "heartbeat", "garbage", env=env), "InvalidArgument")


def test_start_wait_timeout_gives_up_with_exit_1(env: dict[str, str]) -> None:
    r = tidegate("exec", "start", FLOW, "--wait", "--timeout", "1", env=env)
    assert_one_line_error(r, "is still", "after 1 s")
    assert r.rc == 1


def test_errors_are_one_line_with_an_exit_code(env: dict[str, str], tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    cases: list[tuple[list[str], dict[str, str], int, tuple[str, ...]]] = [
        (["exec", "list", FLOW, "--endpoint", dead], env, 3, ("cannot reach the server at", "refused")),
        (["queue", "list", "--endpoint", dead], env, 3, ("cannot reach the server at",)),
        (["topic", "list", "--endpoint", dead], env, 3, ("cannot reach the server at",)),
        (["task", "succeed", "t", "--endpoint", dead], env, 3, ("cannot reach the server at",)),
        (["deploy", str(REPO / "examples"), "--endpoint", dead], env, 3, ("cannot reach the server at",)),
        (["exec", "list", FLOW, "--endpoint", "127.0.0.1:8787"], env, 2, ("did you mean http://127.0.0.1:8787",)),
        (["queue", "list", "--endpoint", "127.0.0.1:8787"], env, 2, ("not an http:// or https:// URL",)),
        (["env", "--endpoint", "127.0.0.1:8787", "--data", str(tmp_path)], env, 2, ("did you mean",)),
        (["exec", "list", FLOW], {**env, "TIDEGATE_ACCESS_KEY_SECRET": "wrong"}, 1, ("Unauthorized", "check")),
        (["queue", "list"], {**env, "TIDEGATE_ACCESS_KEY_SECRET": "wrong"}, 1, ("SignatureDoesNotMatch",)),
        (["exec", "describe", FLOW, "nope"], env, 1, ("ExecutionNotExists",)),
        (["exec", "list", "no-such-flow"], env, 1, ("FlowNotExists",)),
        (["exec", "start", FLOW, "--input", "{oops"], env, 2, ("--input is not JSON",)),
        (["exec", "start", FLOW, "--input", "[1]"], env, 2, ("--input must be a JSON object",)),
        (["task", "succeed", "t", "--output", "3"], env, 2, ("--output must be a JSON object",)),
        (["task", "fail", "garbage", "--error", "E"], env, 1, ("InvalidArgument", "not valid")),
        (
            ["exec", "list", FLOW, "--access-key-id", "only-the-id"],
            {"TIDEGATE_ENDPOINT": env["TIDEGATE_ENDPOINT"]},
            2,
            ("give both",),
        ),
    ]
    for args, case_env, rc, needles in cases:
        r = tidegate(*args, env=case_env)
        assert_one_line_error(r, *needles)
        assert r.rc == rc, (args, r)
    # A queue error names its code once.
    r = tidegate("queue", "send", "no-such-queue", "x", env=env)
    assert_one_line_error(r)
    assert r.err.count("QueueNotExist") == 1
    # --debug shows the traceback instead.
    r = tidegate("--debug", "exec", "list", FLOW, "--endpoint", dead, env=env)
    assert r.rc != 0 and "Traceback" in r.err and "ConnectError" in r.err


def test_without_a_key_the_commands_say_where_to_get_one(tmp_path: Path) -> None:
    local = {"TIDEGATE_ENDPOINT": "http://127.0.0.1:9"}
    r = tidegate("exec", "list", FLOW, env=local, cwd=tmp_path)
    assert_one_line_error(r, ".tidegate/root-key.json does not exist", "tidegate server --data")
    assert r.rc == 2
    # The default data folder is not read for a server elsewhere: its key would be sent there.
    (tmp_path / ".tidegate").mkdir()
    (tmp_path / ".tidegate" / "root-key.json").write_text('{"access_key_id": "a", "access_key_secret": "b"}')
    (tmp_path / ".tidegate" / "root-key.json").chmod(0o600)
    r = tidegate("queue", "list", env={"TIDEGATE_ENDPOINT": "http://tidegate.example:8787"}, cwd=tmp_path)
    assert_one_line_error(r, "no access key for http://tidegate.example:8787")
    # A key file others can read is refused, in one line.
    (tmp_path / ".tidegate" / "root-key.json").chmod(0o644)
    r = tidegate("exec", "list", FLOW, "--data", str(tmp_path / ".tidegate"), env=local)
    assert_one_line_error(r, "readable by others")


def test_server_configuration_errors_are_one_line(tmp_path: Path) -> None:
    port = str(free_port())
    r = tidegate("server", "--store", "mysql://x", "--port", port, "--data", str(tmp_path))
    assert_one_line_error(r, "unknown store URL scheme 'mysql'")
    assert r.rc == 2
    r = tidegate("server", "--store", f"postgresql://postgres@127.0.0.1:{free_port()}/x", "--port", port)
    assert_one_line_error(r, "PostgreSQL")
