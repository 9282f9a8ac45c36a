"""The README's shell examples, run verbatim against a real server started as the README says.

Every line of every ```sh block of README.md runs, in order, in one bash session (so ``eval "$(tidegate
env)"`` carries over), from a folder that holds the server's data folder ``.tidegate`` and links to
``examples/`` and ``.venv/``, with the ``tidegate`` of this interpreter first on PATH. The one difference
from a user's shell: the server listens on a free port, not 8787, and ``TIDEGATE_ENDPOINT`` says so. No
key is given: the commands must find it in ``.tidegate/root-key.json``. The lines in :data:`SKIP` do not run,
each for its reason.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.helpers import base_env, tidegate
from tests.conftest import REPO
from tests.server import ServerProcess

#: Lines (by how they start) that do not run here, and why.
SKIP = {
    "make run": "starts a server with the examples; the test starts its own",
    "make test": "runs the whole test suite",
    "make lint": "a development tool, not the command line (CI runs it)",
    "make typecheck": "a development tool, not the command line (part of make lint)",
    "make fmt": "a development tool that rewrites the sources",
    "make bench": "a development tool, not the command line",
    "tidegate run flow.yaml": "runs a flow file of the reader's own, locally (no server)",
    "tidegate server": "starts a server; the test starts its own on a free port",
    'tidegate task succeed "$TASK_TOKEN"': "needs the task token a worker received (tests/cli/test_exec.py)",
    "python examples/queue-callback/worker.py": "the SDK worker loops forever (tests/examples runs it)",
}
MARK = "@@readme-rc"


def readme_lines() -> list[str]:
    """The command lines of README.md's ```sh blocks, in order (blank and comment lines left out)."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    lines: list[str] = []
    for block in re.findall(r"^```sh\n(.*?)^```", text, flags=re.S | re.M):
        lines += [line.strip() for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return lines


def _skipped(line: str) -> bool:
    return any(line.startswith(prefix) for prefix in SKIP)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """`tidegate server --data .tidegate` in ``tmp_path`` (it makes its own root key there)."""
    srv = ServerProcess(tmp_path / ".tidegate")
    srv.start()
    yield srv
    srv.stop()


def test_the_skip_list_names_only_readme_lines() -> None:
    lines = readme_lines()
    for prefix in SKIP:
        assert any(line.startswith(prefix) for line in lines), f"SKIP entry {prefix!r} matches no README line"


def test_readme_shell_lines_run_verbatim(server: ServerProcess, tmp_path: Path) -> None:
    (tmp_path / "examples").symlink_to(REPO / "examples")
    (tmp_path / ".venv").symlink_to(Path(sys.executable).parent.parent)
    runnable = [line for line in readme_lines() if not _skipped(line)]
    assert len(runnable) >= 12, runnable
    script = "".join(f"{line}\necho {MARK}:{i}:$? >&2\n" for i, line in enumerate(runnable))
    env = base_env({"TIDEGATE_ENDPOINT": server.url})
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    codes = dict(re.findall(rf"^{MARK}:(\d+):(\d+)$", proc.stderr, flags=re.M))
    failed = [runnable[int(i)] for i, rc in codes.items() if rc != "0"]
    assert len(codes) == len(runnable) and not failed, (failed, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    # What the lines did, as the README says: the execution was started, listed and stopped; the message
    # it sent was received; the exports point at this server with its key.
    out = proc.stdout
    assert "started mns-queue-callback/order-1 (Running)" in out
    assert re.search(r"^order-1\s+Running", out, flags=re.M)
    assert "stop requested: mns-queue-callback/order-1" in out or "stopped mns-queue-callback/order-1" in out
    assert '"task_token"' in out
    key = (tmp_path / ".tidegate" / "root-key.json").read_text()
    check = subprocess.run(
        ["bash", "-c", 'eval "$(tidegate env)"; echo "$TIDEGATE_ENDPOINT $TIDEGATE_ACCESS_KEY_ID"'],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
    )
    endpoint, key_id = check.stdout.split()
    assert endpoint == server.url and key_id in key
    # From another folder, --data names the server's data folder.
    r = tidegate("exec", "list", "mns-queue-callback", "--json", "--data", str(tmp_path / ".tidegate"), env=env)
    assert r.rc == 0, r
    assert [e["name"] for e in r.json()["executions"]] == ["order-1"]
