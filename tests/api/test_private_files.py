"""The data folder is private whatever the umask, and a refused key is a one-line error."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server import REPO, ServerProcess, free_port


@pytest.fixture
def umask_022() -> Iterator[None]:
    """Run the server with the common 022 umask (it inherits the test process's)."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _modes(root: Path) -> dict[str, int]:
    modes = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        modes[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return modes


def _server(data: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-c", "from tidegate.cli import main; main()", "server", "--data", str(data)]
    cmd += ["--port", str(free_port())]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TIDEGATE_")}
    return subprocess.run(cmd, capture_output=True, text=True, env={**clean, **env}, cwd=REPO, timeout=60)


def _for_workers(name: str, mode: int) -> bool:
    """What the function workers' group may use: traverse the data folder, read ``functions/``."""
    if name == ".":
        return mode & 0o067 == 0
    return (name == "functions" or name.startswith("functions/")) and mode & 0o027 == 0


def test_data_folder_and_every_file_are_private(tmp_path: Path, umask_022: None) -> None:
    data = tmp_path / "data"
    (data / "old").mkdir(parents=True)
    data.chmod(0o755)
    (data / "notes.txt").write_text("left by someone")  # 0644 under umask 022
    srv = ServerProcess(data)  # no key in the environment: the server creates root-key.json
    srv.start()
    try:
        running = _modes(data)
    finally:
        assert srv.stop() == 0
    after = _modes(data)
    for modes in (running, after):
        # A server running as root keeps function workers under uids of their own: their group may pass
        # through the data folder (an ACL entry; the group bits show its mask, x only) to DATA/functions and
        # read that folder, and nothing else (docs/functions.md, "Isolation and limits").
        assert modes["."] & ~0o010 == 0o700
        for name in ("tidegate.db", "root-key.json", "notes.txt", "server.log"):
            assert modes[name] == 0o600, (name, oct(modes[name]))
        assert modes["old"] == 0o700
        loose = {name: oct(mode) for name, mode in modes.items() if mode & 0o077 and not _for_workers(name, mode)}
        assert loose == {}, loose
    assert any(name.startswith("tidegate.db-") for name in running)  # the WAL and shared memory files too
    log = srv.log()
    assert f"made {data / 'notes.txt'} private: mode 0644 -> 0600" in log
    assert f"made {data} private: mode 0755 -> 0700" in log


def test_a_refused_key_is_one_line_and_exit_2(tmp_path: Path, umask_022: None) -> None:
    data = tmp_path / "data"
    data.mkdir()
    key = data / "root-key.json"
    key.write_text('{"access_key_id": "LTAIxxxxxxxxxxxxxxxx", "access_key_secret": "s" , "account_id": "1"}')
    key.chmod(0o644)
    only_id = _server(data, {"TIDEGATE_ACCESS_KEY_ID": "LTAIonlytheid"})
    readable = _server(data, {})
    for proc in (only_id, readable):
        assert proc.returncode == 2, proc.stderr  # a configuration error, like every command's (docs/cli.md)
        assert "Traceback" not in proc.stderr + proc.stdout
        errors = [line for line in proc.stderr.splitlines() if line.startswith("Error: ")]
        assert len(errors) == 1, proc.stderr
    assert "TIDEGATE_ACCESS_KEY_SECRET" in only_id.stderr
    assert "root-key.json" in readable.stderr
    assert stat.S_IMODE(key.stat().st_mode) == 0o644  # a refused key file is not quietly made acceptable
