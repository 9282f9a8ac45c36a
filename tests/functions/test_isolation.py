"""Function workers against the server: each attack of a hostile function fails, and the limits hold.

The ``user`` isolation tests run a real ``tidegate server`` as root (as on this machine and in CI); the
``process`` isolation tests use a runner in this process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REPO
from tests.server import ServerProcess
from tests.waiting import wait_until
from tidegate.auth.keys import load_or_create_root_key
from tidegate.functions import (
    FUNCTION_TIMEOUT,
    OUT_OF_MEMORY,
    FunctionRunner,
    FunctionSpec,
    InvocationContext,
    Isolation,
    IsolationError,
    IsolationMode,
)

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="user isolation needs a server running as root")

ATTACK = """
import json, os
from urllib.parse import parse_qs

def _try(action):
    try:
        action()
        return "allowed"
    except OSError as exc:
        return exc.strerror

def handler(environ, start_response):
    q = {k: v[0] for k, v in parse_qs(environ["QUERY_STRING"]).items()}
    pid, data = int(q["pid"]), q["data"]
    out = {"uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(), "ppid": os.getppid(),
           "home": os.environ.get("HOME"), "env": sorted(os.environ)}
    for name in ("environ", "mem", "cmdline"):
        out["proc_" + name] = _try(lambda: open(f"/proc/{pid}/{name}", "rb").read(64))
    for name in q["files"].split(","):
        out[name] = _try(lambda: open(os.path.join(data, name), "rb").read(64))
    out["list_data"] = _try(lambda: os.listdir(data))
    out["kill"] = _try(lambda: os.kill(pid, 0))
    out["write_home"] = _try(lambda: open(os.path.join(os.environ["HOME"], "f"), "w").write("x"))
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(out).encode()]
"""

HOG = """
def handler(environ, start_response):
    size = int(environ["QUERY_STRING"])
    block = bytearray(size * 1024 * 1024)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(len(block)).encode()]
"""

ORPHAN = """
import subprocess, time

def handler(environ, start_response):
    subprocess.Popen(["sleep", environ["QUERY_STRING"]], start_new_session=True)
    time.sleep(60)
"""

ORPHAN_EVENT = """
import subprocess, time

def handler(event, context):
    subprocess.Popen(["sleep", event.decode()], start_new_session=True)
    time.sleep(60)
"""


def _code(root: Path, name: str, source: str) -> Path:
    """A code folder only its owner can read (0700 / 0600): the server must grant the workers access.

    Not under pytest's own folder: each pytest session on the machine sets it to 0700 again, which (as any
    chmod) clears the mask of its ACL entries.
    """
    folder = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=root))
    folder.chmod(0o700)
    (folder / "index.py").write_text(source)
    (folder / "index.py").chmod(0o600)
    return folder


def _sleepers(marker: str) -> list[int]:
    """Processes running ``sleep MARKER`` that are not zombies."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if cmdline[:2] == [b"sleep", marker.encode()] and state != "Z":
            found.append(int(entry))
    return found


@pytest.fixture
def code_root() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="tidegate-iso-test-"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    if os.geteuid() != 0:
        pytest.skip("user isolation needs a server running as root")
    # No key in the environment: the server creates DATA/root-key.json, which functions must not read.
    srv = ServerProcess(tmp_path_factory.mktemp("iso") / "data", env={"TIDEGATE_MARKER": "server-only"})
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    key, _ = load_or_create_root_key(server.data_dir, {})
    auth = (key.id, key.secret)
    with httpx.Client(base_url=server.url + "/api/v1", auth=auth, timeout=30) as client:
        yield client


def _deploy(api: httpx.Client, name: str, code: Path, **fields: Any) -> None:
    body = {"code_dir": str(code), "kind": "http", "http_trigger": True, **fields}
    resp = api.put(f"/functions/iso/{name}", json=body)
    assert resp.status_code in (200, 201), resp.text


def _call(server: ServerProcess, name: str, query: str = "", timeout: float = 60) -> httpx.Response:
    return httpx.get(f"{server.url}/2016-08-15/proxy/iso/{name}/?{query}", timeout=timeout)


@root_only
def test_a_hostile_function_reaches_nothing_of_the_server(
    server: ServerProcess, api: httpx.Client, code_root: Path
) -> None:
    _deploy(api, "attack", _code(code_root, "attack", ATTACK))
    data = server.data_dir
    files = ["root-key.json", "push-key.pem", "tidegate.db", "tidegate.db-wal", "functions/../root-key.json"]
    for name in files:  # the test (root) can read them: a refusal below is the function's alone
        assert (data / name).read_bytes()
    assert server.proc is not None
    resp = _call(server, "attack", f"pid={server.proc.pid}&data={data}&files={','.join(files)}")
    assert resp.status_code == 200, resp.text
    got = resp.json()
    assert got["ppid"] == server.proc.pid
    # Worker n of a range runs as its first uid + n, in the group of the first uid; the range is the first
    # free one from 64000 (another server on this machine may hold 64000).
    assert got["gid"] >= 64000 and 0 <= got["uid"] - got["gid"] < 64 and got["groups"] == []
    for name in ("proc_environ", "proc_mem", *files, "list_data"):
        assert got[name] == "Permission denied", (name, got[name])
    assert got["kill"] == "Operation not permitted"
    assert got["write_home"] == "allowed" and got["home"] != os.environ.get("HOME")
    assert "TIDEGATE_MARKER" not in got["env"] and "TIDEGATE_ACCESS_KEY_SECRET" not in got["env"]


@root_only
def test_memory_is_a_limit_with_a_clear_error(server: ServerProcess, api: httpx.Client, code_root: Path) -> None:
    _deploy(api, "hog", _code(code_root, "hog", HOG), memory=128)
    within = _call(server, "hog", "100")
    assert within.status_code == 200 and within.text == str(100 * 1024 * 1024), within.text
    over = _call(server, "hog", "300")
    assert over.status_code == 502, over.text
    error = over.json()
    assert error["errorType"] == OUT_OF_MEMORY
    assert "ran out of memory (memory: 128 MB)" in error["errorMessage"]
    assert _call(server, "hog", "100").status_code == 200  # the next invocation has a fresh worker


@root_only
def test_the_timeout_kills_a_child_that_left_the_session(
    server: ServerProcess, api: httpx.Client, code_root: Path
) -> None:
    _deploy(api, "orphan", _code(code_root, "orphan", ORPHAN), timeout=2)
    marker = "987.25"
    result: dict[str, httpx.Response] = {}
    caller = threading.Thread(target=lambda: result.update(resp=_call(server, "orphan", marker)))
    caller.start()
    pids = wait_until(lambda: _sleepers(marker), timeout=20, message="the function's child to start")
    child = pids[0]
    assert os.getsid(child) == child  # it left the worker's session and process group
    uids = next(line for line in Path(f"/proc/{child}/status").read_text().splitlines() if line.startswith("Uid:"))
    assert int(uids.split()[1]) >= 64000  # it runs as a worker's uid
    caller.join(timeout=30)
    assert result["resp"].status_code == 502 and result["resp"].json()["errorType"] == FUNCTION_TIMEOUT
    wait_until(lambda: not _sleepers(marker), timeout=10, message="the setsid child to be killed")


@root_only
def test_a_restart_keeps_the_data_folder_closed_and_the_functions_running(
    server: ServerProcess, api: httpx.Client, code_root: Path
) -> None:
    _deploy(api, "attack2", _code(code_root, "attack2", ATTACK))
    server.restart()
    data = server.data_dir
    assert server.proc is not None
    resp = _call(server, "attack2", f"pid={server.proc.pid}&data={data}&files=root-key.json,push-key.pem")
    assert resp.status_code == 200, resp.text
    got = resp.json()
    assert got["list_data"] == got["root-key.json"] == got["push-key.pem"] == "Permission denied"
    # Its ACL entries are the workers' way in: the restart's privacy pass leaves DATA/functions alone.
    tightened = [line for line in server.log().splitlines() if "private: mode" in line and "/functions" in line]
    assert tightened == []


@root_only
def test_a_taken_uid_range_is_refused_before_start(tmp_path: Path) -> None:
    nobody = 65534
    cmd = [sys.executable, "-c", "from tidegate.cli import main; main()", "server", "--check"]
    cmd += ["--data", str(tmp_path / "d"), "--function-user", f"{nobody - 1}", "--port", "1"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode != 0
    assert f"uid {nobody} belongs to the account" in proc.stderr, proc.stderr
    first = Isolation.resolve(IsolationMode.USER, None, 3)  # servers of one machine never share a uid
    second = Isolation.resolve(IsolationMode.USER, None, 3)
    assert second.uid >= first.uid + 3
    with pytest.raises(IsolationError, match="another tidegate server uses uids"):
        Isolation.resolve(IsolationMode.USER, str(first.uid), 3)
    with pytest.raises(IsolationError, match="no such user"):
        Isolation.resolve(IsolationMode.USER, "no-such-user-here", 2)
    with pytest.raises(IsolationError, match="between 1 and"):
        Isolation.resolve(IsolationMode.USER, "0", 2)


# --- process isolation (the server's uid): a runner in this process -----------------------------------


@pytest.fixture
def process_runner() -> Iterator[FunctionRunner]:
    with FunctionRunner(workers=1, isolation=Isolation(IsolationMode.PROCESS)) as runner:
        yield runner


def test_process_isolation_kills_a_setsid_child_at_the_timeout(process_runner: FunctionRunner, tmp_path: Path) -> None:
    code = _code(tmp_path, "orphan", ORPHAN_EVENT)
    marker = "986.5"
    spec = FunctionSpec("iso", "orphan", code, timeout_s=2)
    result = process_runner.invoke(spec, marker.encode(), InvocationContext())
    assert result.error_type == FUNCTION_TIMEOUT
    wait_until(lambda: not _sleepers(marker), timeout=10, message="the setsid child to be killed")


def test_process_isolation_limits_memory(process_runner: FunctionRunner, tmp_path: Path) -> None:
    code = tmp_path / "hog"
    code.mkdir()
    (code / "index.py").write_text("def handler(event, context):\n    return len(bytearray(int(event) << 20))\n")
    spec = FunctionSpec("iso", "hog", code, memory_mb=128)
    assert process_runner.invoke(spec, b"100", InvocationContext()).json() == 100 << 20
    over = process_runner.invoke(spec, b"300", InvocationContext())
    assert over.error_type == OUT_OF_MEMORY and "memory: 128 MB" in (over.error_message or "")
    bigger = FunctionSpec("iso", "hog", code, memory_mb=512)  # another size: a worker of its own
    assert process_runner.invoke(bigger, b"300", InvocationContext()).json() == 300 << 20
