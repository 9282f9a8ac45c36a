"""Start runtime processes, wait for conditions on the store with a deadline, kill them with SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from tests.conftest import REPO

POLL_S = 0.02


class Child:
    """A child process whose output goes to files (never a pipe that could fill up and block it)."""

    def __init__(self, argv: Sequence[str], workdir: Path, label: str) -> None:
        self.label = label
        self.out_path = workdir / f"{label}.out"
        self.err_path = workdir / f"{label}.err"
        env = dict(os.environ, PYTHONPATH=f"{REPO / 'src'}{os.pathsep}{REPO}")
        self._out: IO[bytes] = self.out_path.open("wb")
        self._err: IO[bytes] = self.err_path.open("wb")
        self.proc = subprocess.Popen(
            list(argv), stdout=self._out, stderr=self._err, stdin=subprocess.DEVNULL, env=env, cwd=REPO
        )

    def output(self) -> str:
        """What the child printed so far on stdout."""
        return self.out_path.read_text(encoding="utf-8", errors="replace")

    def errors(self) -> str:
        """The tail of the child's stderr (for assertion messages)."""
        return self.err_path.read_text(encoding="utf-8", errors="replace")[-4000:]

    def kill(self) -> None:
        """SIGKILL the child (the crash under test) and reap it."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self._close()

    def wait(self, timeout_s: float) -> int:
        """Wait for the child to exit on its own; return its exit code (killed when it overruns)."""
        try:
            return self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{self.label} did not finish in {timeout_s} s:\n{self.errors()}") from None
        finally:
            self._close()

    def _close(self) -> None:
        self._out.close()
        self._err.close()


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str, child: Child | None = None) -> None:
    """Poll ``condition`` until it holds; fail after ``timeout_s`` or when ``child`` exits first.

    Polling is the only cross-process wait available for SQLite (its notifications are in-process).
    """
    deadline = time.monotonic() + timeout_s
    while not condition():
        if child is not None and child.proc.poll() is not None:
            raise AssertionError(f"{child.label} exited ({child.proc.returncode}) before {what}:\n{child.errors()}")
        if time.monotonic() > deadline:
            extra = f":\n{child.errors()}" if child is not None else ""
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}{extra}")
        time.sleep(POLL_S)


def start_worker(
    store_url: str, plan: dict[str, Any], functions: Path, workdir: Path, label: str, **options: int
) -> Child:
    """Start ``tests.runtime.crash.worker`` on ``store_url`` for ``plan``."""
    plan_path = workdir / "plan.json"
    plan_path.write_text(json.dumps(plan), encoding="utf-8")
    argv = [
        sys.executable,
        "-m",
        "tests.runtime.crash.worker",
        "--store",
        store_url,
        "--plan",
        str(plan_path),
        "--functions",
        str(functions),
    ]
    for key, value in options.items():
        argv += [f"--{key.replace('_', '-')}", str(value)]
    return Child(argv, workdir, label)


def tidegate_run(argv: Sequence[str], workdir: Path, label: str) -> Child:
    """Start the ``tidegate`` command line with ``argv``."""
    code = "import sys; from tidegate.cli import main; sys.exit(main())"
    return Child([sys.executable, "-c", code, *argv], workdir, label)
