"""Start runtime processes and kill them with SIGKILL (tests wait on the store with ``tests.waiting``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from tests.conftest import REPO


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

    def unless_exited(self, condition: Callable[[], bool]) -> Callable[[], bool]:
        """``condition`` for :func:`tests.waiting.wait_until`, failing at once when this child exits first.

        (Polling is the only cross-process wait available for SQLite: its notifications are in-process.)
        """

        def check() -> bool:
            if condition():
                return True
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.label} exited ({self.proc.returncode}) first:\n{self.errors()}")
            return False

        return check

    def _close(self) -> None:
        self._out.close()
        self._err.close()


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
