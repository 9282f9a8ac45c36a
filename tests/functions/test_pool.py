"""The worker pool: timeouts, crashes, parallelism, async use, start-up failures and shutdown."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.functions.conftest import WriteCode
from tests.waiting import wait_until
from tidegate.functions import (
    FUNCTION_TIMEOUT,
    UNKNOWN,
    FunctionRunner,
    InvocationContext,
    InvocationResult,
    RunnerClosed,
)

CTX = InvocationContext()

SLOW_AND_CRASHING = """
    import os, time
    def handler(event, context):
        if event == b"hang":
            print("hanging now")
            open("hanging", "w").close()  # in the code folder (the cwd): tells observers it started
            while True:
                time.sleep(0.05)  # a function that hangs (the behaviour under test)
        if event == b"crash":
            print("about to crash")
            os._exit(3)
        if event == b"segv":
            import ctypes
            ctypes.string_at(0)
        return {"pid": os.getpid()}
"""


def _state(pid: int) -> str:
    """The process state letter of ``pid`` ("X" when it no longer exists)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return "X"


def _gone(pid: int) -> bool:
    """True when ``pid`` is neither running nor a zombie waiting to be reaped."""
    return _state(pid) == "X"


def test_timeout_kills_and_replaces_the_worker(write_code: WriteCode) -> None:
    spec = write_code(SLOW_AND_CRASHING, timeout_s=0.3)
    with FunctionRunner(workers=1) as runner:
        first_pid = runner.invoke(spec, b"", CTX).json()["pid"]
        result = runner.invoke(spec, b"hang", CTX)
        assert (result.ok, result.error_type) == (False, FUNCTION_TIMEOUT)
        assert "timed out after 0.3 s" in (result.error_message or "")
        assert result.duration_ms >= 300
        assert "hanging now" in result.logs  # what it printed before it was killed
        assert _gone(first_pid)
        assert runner.worker_pids() == []
        second_pid = runner.invoke(spec, b"", CTX).json()["pid"]
        assert second_pid != first_pid


def test_crash_does_not_disturb_concurrent_invocations(write_code: WriteCode) -> None:
    spec = write_code(SLOW_AND_CRASHING)
    with FunctionRunner(workers=3) as runner, ThreadPoolExecutor(8) as pool:
        events = [b"crash" if i % 5 == 0 else b"ok" for i in range(40)]
        results = list(pool.map(lambda e: runner.invoke(spec, e, CTX), events))
        for event, result in zip(events, results, strict=True):
            if event == b"crash":
                assert (result.ok, result.error_type) == (False, UNKNOWN)
                assert "exited with code 3" in (result.error_message or "")
                assert "about to crash" in result.logs
            else:
                assert result.ok, result
        assert runner.invoke(spec, b"", CTX).ok


def test_segfault_is_reported_with_its_signal(write_code: WriteCode) -> None:
    spec = write_code(SLOW_AND_CRASHING)
    with FunctionRunner(workers=1) as runner:
        result = runner.invoke(spec, b"segv", CTX)
        assert result.error_type == UNKNOWN
        assert "SIGSEGV" in (result.error_message or "")
        assert runner.invoke(spec, b"", CTX).ok


def test_worker_killed_while_idle_is_replaced_transparently(write_code: WriteCode) -> None:
    spec = write_code(SLOW_AND_CRASHING)
    with FunctionRunner(workers=1) as runner:
        pid = runner.invoke(spec, b"", CTX).json()["pid"]
        os.kill(pid, signal.SIGKILL)
        # Once its main thread is gone the request stays unread in the pipe, so it is resent elsewhere.
        wait_until(lambda: _state(pid) in ("Z", "X"), message=f"worker {pid} to exit")
        result = runner.invoke(spec, b"", CTX)
        assert result.ok, result
        assert result.json()["pid"] != pid


BARRIER = """
    import os, time
    def handler(event, context):
        folder, parties = event.decode().split("|")
        open(os.path.join(folder, context.request_id), "w").close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if len(os.listdir(folder)) >= int(parties):
                return {"met": True, "pid": os.getpid()}
            time.sleep(0.002)  # the function under test polls its own barrier (another process)
        return {"met": False, "pid": os.getpid()}
"""


def test_invocations_really_run_in_parallel(write_code: WriteCode, tmp_path: Path) -> None:
    spec = write_code(BARRIER)
    folder = tmp_path / "barrier"
    folder.mkdir()
    event = f"{folder}|4".encode()
    with FunctionRunner(workers=4) as runner, ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: runner.invoke(spec, event, InvocationContext()), range(4)))
    assert all(r.ok and r.json()["met"] for r in results), results
    assert len({r.json()["pid"] for r in results}) == 4


EXCLUSIVE = """
    import os, time
    def handler(event, context):
        marker = os.path.join(event.decode(), "running")
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)  # fails if another call is inside
        time.sleep(0.02)  # the work: long enough for a second call to collide if one could start
        os.close(fd)
        os.unlink(marker)
        return os.getpid()
"""


def test_requests_queue_when_all_workers_are_busy(write_code: WriteCode, tmp_path: Path) -> None:
    spec = write_code(EXCLUSIVE)
    with FunctionRunner(workers=1) as runner, ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda _: runner.invoke(spec, str(tmp_path).encode(), CTX), range(6)))
        assert all(r.ok for r in results), [r.error_message for r in results]
        assert len({r.payload for r in results}) == 1
        assert len(runner.worker_pids()) == 1


def test_invoke_async(write_code: WriteCode) -> None:
    spec = write_code("def handler(event, context):\n    return event[::-1]\n")

    async def main(runner: FunctionRunner) -> list[InvocationResult]:
        return await asyncio.gather(*(runner.invoke_async(spec, str(i).encode(), CTX) for i in range(10, 30)))

    with FunctionRunner(workers=2) as runner:
        results = asyncio.run(main(runner))
    assert [r.payload for r in results] == [str(i).encode()[::-1] for i in range(10, 30)]


def test_close_reaps_every_worker_and_refuses_new_calls(write_code: WriteCode, tmp_path: Path) -> None:
    spec = write_code(SLOW_AND_CRASHING)
    runner = FunctionRunner(workers=3)
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda _: runner.invoke(spec, b"", CTX), range(9)))
    hanging = threading.Thread(target=lambda: hung.append(runner.invoke(spec, b"hang", CTX)))
    hung: list[InvocationResult] = []
    pids = runner.worker_pids()
    hanging.start()
    assert pids
    runner.close()
    hanging.join(timeout=10)
    assert not hanging.is_alive()
    assert hung[0].error_type == UNKNOWN
    assert "closed" in (hung[0].error_message or "")
    assert all(_gone(pid) for pid in pids)
    with pytest.raises(RunnerClosed):
        runner.invoke(spec, b"", CTX)
    runner.close()  # idempotent


def test_sitecustomize_dir_and_runner_env(write_code: WriteCode, tmp_path: Path) -> None:
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text("import os\nos.environ['SHIM_LOADED'] = os.environ['SHIM_VALUE']\n")
    spec = write_code("import os\ndef handler(e, c):\n    return os.environ.get('SHIM_LOADED')\n")
    with FunctionRunner(workers=1, sitecustomize_dir=shim, env={"SHIM_VALUE": "yes"}) as runner:
        assert runner.invoke(spec, b"", CTX).payload == b"yes"


def test_worker_that_cannot_start_reports_its_output(write_code: WriteCode, tmp_path: Path) -> None:
    shim = tmp_path / "broken"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text("raise SystemExit('shim refuses to load')\n")
    spec = write_code("def handler(e, c):\n    return 1\n")
    with FunctionRunner(workers=1, sitecustomize_dir=shim) as runner:
        result = runner.invoke(spec, b"", CTX)
    assert result.error_type == UNKNOWN
    assert "shim refuses to load" in result.logs


def test_missing_interpreter_is_an_unknown_error(write_code: WriteCode, tmp_path: Path) -> None:
    spec = write_code("def handler(e, c):\n    return 1\n")
    with FunctionRunner(workers=1, python=str(tmp_path / "no-python")) as runner:
        result = runner.invoke(spec, b"", CTX)
    assert result.error_type == UNKNOWN
    assert "cannot start a function worker" in (result.error_message or "")


def test_default_worker_count_uses_the_cpus() -> None:
    with FunctionRunner() as runner:
        assert runner._max == max(2, (os.cpu_count() or 1) * 2)
    with pytest.raises(ValueError):
        FunctionRunner(workers=0)
    assert sys.executable


ORPHAN_SCRIPT = """
import sys, threading, time
from pathlib import Path
from tidegate.functions import FunctionRunner, FunctionSpec, InvocationContext
runner = FunctionRunner(workers=2)
spec = FunctionSpec(service="svc", name="fn", code_dir=Path(sys.argv[1]), timeout_s=60)
runner.invoke(spec, b"", InvocationContext())
threading.Thread(target=runner.invoke, args=(spec, b"hang", InvocationContext()), daemon=True).start()
deadline = time.monotonic() + 10
while not (spec.code_dir / "hanging").exists() and time.monotonic() < deadline:
    time.sleep(0.005)  # a server process of its own (not the test): polls the hang's marker within a deadline
# The hang holds the first worker, so this call starts a second one and leaves it idle.
runner.invoke(spec, b"", InvocationContext())
print("ready", flush=True)
threading.Event().wait()
"""


def test_workers_exit_when_the_server_is_killed(write_code: WriteCode) -> None:
    spec = write_code(SLOW_AND_CRASHING)
    server = subprocess.Popen(
        [sys.executable, "-c", ORPHAN_SCRIPT, str(spec.code_dir)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        assert server.stdout.readline() == "ready\n"
        workers = _children(server.pid)
        assert len(workers) == 2
    finally:
        server.kill()
        server.wait()
        if server.stdout is not None:
            server.stdout.close()
    # Orphans are re-parented (and reaped) by init; both the idle and the busy worker must go away.
    wait_until(lambda: all(_state(pid) in ("X", "Z") for pid in workers), message=f"workers {workers} to exit")


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return found
