"""Run the ``tidegate`` command as a real subprocess, with an environment free of the caller's settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import REPO

#: What the tests pass to a command instead of the caller's environment (no TIDEGATE_* leaks in).
_KEEP = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH")


def base_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The caller's PATH, HOME, locale and PYTHONPATH plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k in _KEEP}
    env.update(extra or {})
    return env


@dataclass(frozen=True)
class Result:
    """What a command did."""

    rc: int
    out: str
    err: str

    def json(self) -> Any:
        """Its stdout as JSON."""
        return json.loads(self.out)


def tidegate(*args: str, env: Mapping[str, str] | None = None, cwd: Path = REPO, timeout: float = 120) -> Result:
    """Run ``tidegate ARGS`` (this interpreter's package) and return its exit code and output."""
    cmd = [sys.executable, "-c", "from tidegate.cli import main; main()", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=base_env(env), cwd=cwd, timeout=timeout)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def start(*args: str, env: Mapping[str, str] | None = None, cwd: Path = REPO) -> subprocess.Popen[str]:
    """Start ``tidegate ARGS`` in the background (stdout and stderr piped)."""
    cmd = [sys.executable, "-c", "from tidegate.cli import main; main()", *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=base_env(env), cwd=cwd)


def assert_one_line_error(r: Result, *needles: str) -> None:
    """A failed command: non-zero exit, nothing on stdout, one ``Error:`` line on stderr, no traceback."""
    assert r.rc != 0, r
    assert "Traceback" not in r.err and "Traceback" not in r.out, r.err
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), r.err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
