"""``tidegate server`` refuses a configuration it cannot run with in one line, with the right exit code.

Each case runs the real command in a subprocess: one ``Error:`` line on stderr, no traceback, exit code 2
for a configuration problem and 3 for a store that cannot be reached; and nothing is created first (no
data folder, no root key) when the refusal comes before the start.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.helpers import Result, assert_one_line_error, base_env, tidegate
from tests.server import TEST_KEYS, free_port
from tests.stores import require_pg


def _closed_port() -> int:
    """A port nothing listens on (bound a moment ago, then released)."""
    return free_port()


def test_a_port_out_of_range_is_a_usage_error_before_anything_is_created(tmp_path: Path) -> None:
    data = tmp_path / "data"
    r = tidegate("server", "--data", str(data), "--port", "99999")
    assert_one_line_error(r, "'--port'", "99999", "1<=x<=65535")
    assert r.rc == 2
    assert not data.exists()


def test_a_taken_port_is_refused_before_serving_or_creating_a_key(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = tidegate("server", "--data", str(data), "--port", str(port))
    assert_one_line_error(r, f"port {port} is already in use")
    assert r.rc == 2
    assert "serving" not in r.out + r.err
    assert not data.exists()  # no folder, so no root key either


def test_a_host_that_does_not_resolve_is_one_line(tmp_path: Path) -> None:
    r = tidegate("server", "--data", str(tmp_path / "data"), "--host", "no-such-host.invalid", "--port", "8787")
    assert_one_line_error(r, "cannot listen on 'no-such-host.invalid'")
    assert r.rc == 2


@pytest.mark.parametrize(
    ("args", "env", "needles"),
    [
        (["--store", "mysql://x"], {}, ["'--store'", "unknown store URL scheme 'mysql'"]),
        ([], {"TIDEGATE_STORE": "mysql://x"}, ["TIDEGATE_STORE", "scheme 'mysql'"]),
        (["--store", "x.db"], {}, ["'--store'", "sqlite:///PATH"]),
        ([], {"TIDEGATE_PORT": "eighty"}, ["TIDEGATE_PORT", "'eighty' is not a valid integer"]),
        ([], {"TIDEGATE_LOG_LEVEL": "loud"}, ["TIDEGATE_LOG_LEVEL", "loud"]),
        (["--region", "CN<x>"], {}, ["'--region'", "not a region id"]),
        (["--public-url", "ftp://x"], {}, ["'--public-url'", "not an http:// or https:// URL"]),
        (["--prot", "1"], {}, ["No such option '--prot'", "'--port'"]),
    ],
)
def test_bad_values_name_where_they_came_from(
    tmp_path: Path, args: list[str], env: dict[str, str], needles: list[str]
) -> None:
    data = tmp_path / "data"
    r = tidegate("server", "--data", str(data), *args, env=env)
    assert_one_line_error(r, *needles)
    assert r.rc == 2
    assert not data.exists()


def test_a_store_url_password_is_not_echoed(tmp_path: Path) -> None:
    r = tidegate("server", "--data", str(tmp_path / "d"), "--store", "mysql://u:hunter2@db/x")
    assert_one_line_error(r, "scheme 'mysql'")
    assert "hunter2" not in r.err


def _without_psycopg(*args: str) -> Result:
    code = "import sys; sys.modules['psycopg'] = None; from tidegate.cli import main; main()"
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=base_env(), timeout=120
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def test_missing_psycopg_says_which_extra_to_install(tmp_path: Path) -> None:
    data = tmp_path / "data"
    r = _without_psycopg("server", "--data", str(data), "--store", "postgresql://postgres@127.0.0.1:5432/x")
    assert_one_line_error(r, "pip install 'tidegate[postgres]'")
    assert r.rc == 2
    assert not data.exists()


@pytest.mark.postgres
def test_an_unreachable_postgresql_is_exit_code_3_and_leaves_nothing(tmp_path: Path) -> None:
    require_pg()  # psycopg is installed and PostgreSQL works: only the port below is wrong
    data = tmp_path / "data"
    url = f"postgresql://postgres@127.0.0.1:{_closed_port()}/test"
    r = tidegate("server", "--data", str(data), "--store", url, "--port", str(free_port()))
    assert_one_line_error(r, "PostgreSQL: cannot open", "Connection refused")
    assert r.rc == 3
    assert not data.exists()


@pytest.mark.postgres
def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    require_pg()
    url = f"postgresql://postgres@127.0.0.1:{_closed_port()}/test"
    r = tidegate("--debug", "server", "--data", str(tmp_path / "data"), "--store", url, "--port", str(free_port()))
    assert r.rc != 0
    assert "Traceback" in r.err and "StoreUnavailable" in r.err


def test_a_data_folder_that_cannot_be_created_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    r = tidegate("server", "--data", str(blocker / "data"), "--port", str(free_port()))
    assert_one_line_error(r, "cannot create the data folder", f"{blocker} is not a folder")
    assert r.rc == 2


def test_a_data_folder_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    r = tidegate("server", "--data", str(blocker), "--port", str(free_port()))
    assert_one_line_error(r, "'--data'", "is a file")
    assert r.rc == 2


def test_a_sqlite_store_in_a_folder_that_cannot_be_created_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    url = f"sqlite:///{blocker}/sub/x.db"
    r = tidegate("server", "--data", str(tmp_path / "data"), "--store", url, "--port", str(free_port()))
    assert_one_line_error(r, "folder of the SQLite store", "is not a folder")
    assert r.rc == 2


def test_a_file_that_is_not_a_database_is_one_line(tmp_path: Path) -> None:
    db = tmp_path / "not.db"
    db.write_bytes(b"this is not SQLite " * 100)
    r = tidegate("server", "--data", str(tmp_path / "d"), "--store", f"sqlite:///{db}", "--port", str(free_port()))
    assert_one_line_error(r, "SQLite", "not a database")
    assert r.rc == 1


def test_half_a_root_key_is_a_configuration_error(tmp_path: Path) -> None:
    env = {"TIDEGATE_ACCESS_KEY_ID": TEST_KEYS["TIDEGATE_ACCESS_KEY_ID"]}
    r = tidegate("server", "--data", str(tmp_path / "d"), "--port", str(free_port()), env=env)
    assert_one_line_error(r, "TIDEGATE_ACCESS_KEY_SECRET")
    assert r.rc == 2


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to any folder")
def test_a_data_folder_without_write_permission_is_one_line(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    r = tidegate("server", "--data", str(locked / "data"), "--port", str(free_port()))
    assert_one_line_error(r, "cannot create the data folder", f"{locked} is not writable")
    assert r.rc == 2
