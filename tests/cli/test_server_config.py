"""``tidegate server`` settings: the TOML file, the variables and the flags, their precedence, ``--check``.

``--check`` prints the settings it would run with (and where each came from) without starting anything,
so most cases here run it; one case starts a real server from a file.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

import httpx
import pytest

from tests.cli.helpers import Result, assert_one_line_error, tidegate
from tests.conftest import REPO
from tests.server import TEST_KEYS, ServerProcess, free_port
from tests.stores import PG_URL, drop_schema, require_pg
from tidegate.cli.config import SETTINGS
from tidegate.store import open_store


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _summary(r: Result) -> dict[str, str]:
    """The ``label: text`` lines of a successful ``--check``."""
    assert r.rc == 0, r
    assert r.err == "", r.err
    assert r.out.startswith("tidegate server --check: the configuration is usable\n"), r.out
    found = dict(re.findall(r"^  ([a-z ]+):\s+(.*)$", r.out, re.M))
    return found


def _check(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    return tidegate("server", "--check", *args, env=env, cwd=tmp_path)


def test_a_file_sets_options(tmp_path: Path) -> None:
    port = free_port()
    conf = _write(
        tmp_path / "tidegate.toml",
        f'port = {port}\nregion = "cn-shanghai"\nlog-format = "json"\naccess-log = true\nheader-timeout = 2.5\n',
    )
    s = _summary(_check(tmp_path, "--config", str(conf)))
    assert s["listen"] == f"http://127.0.0.1:{port} (free)"
    assert s["region"] == "cn-shanghai"
    assert s["logs"] == "info, json, access log on"
    assert s["config file"] == str(conf)
    given = s["settings"]
    for key in ("port", "region", "log-format", "access-log", "header-timeout"):
        assert f"{key} from config file" in given


def test_the_variable_names_the_file(tmp_path: Path) -> None:
    port = free_port()
    conf = _write(tmp_path / "c.toml", f"port = {port}\n")
    s = _summary(_check(tmp_path, env={"TIDEGATE_CONFIG": str(conf)}))
    assert s["listen"] == f"http://127.0.0.1:{port} (free)" and s["config file"] == str(conf)


def test_a_variable_overrides_the_file_and_a_flag_the_variable(tmp_path: Path) -> None:
    in_file, in_env, in_flag = free_port(), free_port(), free_port()
    conf = _write(tmp_path / "c.toml", f'port = {in_file}\nregion = "cn-beijing"\nlog-level = "debug"\n')
    env = {"TIDEGATE_PORT": str(in_env), "TIDEGATE_REGION": "cn-shenzhen"}

    s = _summary(_check(tmp_path, "--config", str(conf), env=env))
    assert s["listen"].startswith(f"http://127.0.0.1:{in_env} ")
    assert s["region"] == "cn-shenzhen"
    assert s["logs"].startswith("debug,")  # the file's, no variable or flag gives it
    assert "port from TIDEGATE_PORT" in s["settings"] and "log-level from config file" in s["settings"]

    s = _summary(_check(tmp_path, "--config", str(conf), "--port", str(in_flag), "--region", "cn-qingdao", env=env))
    assert s["listen"].startswith(f"http://127.0.0.1:{in_flag} ")
    assert s["region"] == "cn-qingdao"
    assert "port from --port" in s["settings"] and "region from --region" in s["settings"]


def test_a_flag_turns_off_what_the_file_turns_on(tmp_path: Path) -> None:
    conf = _write(tmp_path / "c.toml", f"access-log = true\nport = {free_port()}\n")
    assert _summary(_check(tmp_path, "--config", str(conf)))["logs"].endswith("access log on")
    s = _summary(_check(tmp_path, "--config", str(conf), "--no-access-log"))
    assert s["logs"].endswith("access log off")


def test_relative_paths_in_the_file_are_relative_to_its_folder(tmp_path: Path) -> None:
    (tmp_path / "etc" / "fns").mkdir(parents=True)
    conf = _write(tmp_path / "etc" / "c.toml", f'data = "state"\nfunctions = "fns"\nport = {free_port()}\n')
    s = _summary(_check(tmp_path, "--config", str(conf)))
    assert s["data"] == str(tmp_path / "etc" / "state")


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("prot = 8788\n", ["unknown key 'prot'", "did you mean 'port'?"]),
        ("header_timeout = 3\n", ["unknown key 'header_timeout'", "did you mean 'header-timeout'?"]),
        ("colour = 'blue'\n", ["unknown key 'colour'", "known keys: host, port"]),
        ("access-key-secret = 'x'\n", ["'access-key-secret' is not read from a configuration file"]),
        ('port = "8788"\n', ["port must be an integer, not '8788'"]),
        ("port = true\n", ["port must be an integer, not true"]),
        ("access-log = 1\n", ["access-log must be true or false, not 1"]),
        ("[server]\nport = 1\n", ["unknown key 'server'"]),
        ('data = "a\\u0000b"\n', ["data must not hold control characters"]),
        ("port = \n", ["is not valid TOML"]),
        ("port = 0\n", ["Invalid value for port in", "0 is not in the range 1<=x<=65535"]),
        ('store = "mysql://x"\n', ["Invalid value for store in", "scheme 'mysql'"]),
        ('log-format = "xml"\n', ["Invalid value for log-format in", "'xml' is not one of"]),
    ],
)
def test_a_bad_file_is_refused_naming_the_key(tmp_path: Path, text: str, needles: list[str]) -> None:
    conf = _write(tmp_path / "c.toml", text)
    data = tmp_path / "data"
    for check in ((), ("--check",)):
        # No --port: it would override the file's. Every file here is refused before a port is bound.
        r = tidegate("server", *check, "--config", str(conf), "--data", str(data), timeout=60)
        assert_one_line_error(r, *needles)
        assert r.rc == 2
    assert not data.exists()


def test_every_unknown_key_is_reported_on_its_own_line(tmp_path: Path) -> None:
    conf = _write(tmp_path / "c.toml", "prot = 1\nhots = 'x'\nport = 8788\n")
    r = tidegate("server", "--config", str(conf))
    assert r.rc == 2 and "Traceback" not in r.err
    assert r.err.splitlines() == [
        f"Error: {conf}: unknown key 'prot' (did you mean 'port'?)",
        f"Error: {conf}: unknown key 'hots' (did you mean 'host'?)",
    ]


def test_a_missing_or_huge_file_is_one_line(tmp_path: Path) -> None:
    r = tidegate("server", "--config", str(tmp_path / "nope.toml"))
    assert_one_line_error(r, "the configuration file", "does not exist")
    huge = _write(tmp_path / "huge.toml", "# x\n" * 300_000)
    r = tidegate("server", "--config", str(huge))
    assert_one_line_error(r, "larger than 1048576 bytes")


def test_check_creates_nothing_and_reports_a_new_store_and_key(tmp_path: Path) -> None:
    data = tmp_path / "data"
    s = _summary(_check(tmp_path, "--data", str(data), "--port", str(free_port())))
    assert s["store"].endswith(": created on start")
    assert s["root key"].startswith("none yet")
    assert not data.exists()


def test_check_reads_an_existing_store_and_key(tmp_path: Path) -> None:
    data = tmp_path / "data"
    srv = ServerProcess(data)
    srv.start()
    srv.stop()
    s = _summary(_check(tmp_path, "--data", str(data), "--port", str(srv.port)))
    assert re.fullmatch(r"sqlite:///.*/tidegate\.db: up to date \(migration \d+\)", s["store"]), s["store"]
    assert re.fullmatch(rf"LTAI\w{{20}} from {re.escape(str(data))}/root-key\.json \(account \d+\)", s["root key"])


def test_check_refuses_a_store_of_a_newer_version(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    store = open_store(f"sqlite:///{db}")
    store.close()
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO schema_migrations (version, name, applied_ms) VALUES (9999, 'future', 0)")
    r = _check(tmp_path, "--store", f"sqlite:///{db}", "--port", str(free_port()))
    assert_one_line_error(r, "migrations this version does not know (9999)", "newer tidegate")
    assert r.rc == 1


def test_check_reports_every_problem_with_the_first_ones_exit_code(tmp_path: Path) -> None:
    blocker = _write(tmp_path / "file", "")
    (tmp_path / "deploy" / "app").mkdir(parents=True)
    _write(tmp_path / "deploy" / "app" / "deploy.yaml", "queues: [\n")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = _check(tmp_path, "--data", str(blocker / "d"), "--port", str(port), "--deploy", str(tmp_path / "deploy"))
    assert r.rc == 2 and r.out == "" and "Traceback" not in r.err
    lines = r.err.splitlines()
    assert len(lines) == 3, lines
    assert lines[0].startswith("Error: cannot create the data folder")
    assert lines[1].startswith(f"Error: port {port} is already in use on 127.0.0.1")
    assert lines[2].startswith("Error: ") and "deploy.yaml" in lines[2]


def test_check_refuses_a_readable_key_file_and_notes_a_different_key(tmp_path: Path) -> None:
    data = tmp_path / "data"
    srv = ServerProcess(data)
    srv.start()
    srv.stop()
    # The store took the file's key as its identity: another key starts only as a reset of that identity.
    args = ("--data", str(data), "--port", str(free_port()))
    assert_one_line_error(_check(tmp_path, *args, env=TEST_KEYS), "this store belongs to", "--reset-identity")
    s = _summary(_check(tmp_path, *args, "--reset-identity", env=TEST_KEYS))
    assert s["root key"].startswith("testAccessKeyId from TIDEGATE_ACCESS_KEY_ID")
    assert s["identity"].startswith("replaced by this server's on start (--reset-identity; was account ")
    assert "root-key.json holds another key" in s["note"]
    (data / "root-key.json").chmod(0o644)
    r = _check(tmp_path, "--data", str(data), "--port", str(free_port()))
    assert_one_line_error(r, "root-key.json is readable by others", "chmod 600")
    assert r.rc == 2


@pytest.mark.postgres
def test_check_on_postgresql(tmp_path: Path) -> None:
    require_pg()
    schema = f"tg_check_{free_port()}"
    url = f"{PG_URL}?schema={schema}"
    try:
        s = _summary(_check(tmp_path, "--store", url, "--port", str(free_port())))
        assert s["store"].startswith(f"{url}: ") and s["store"].endswith("migration(s) to apply on start")
        open_store(url).close()
        s = _summary(_check(tmp_path, "--store", url, "--port", str(free_port())))
        assert s["store"].startswith(f"{url}: up to date")
    finally:
        drop_schema(schema)


def test_a_server_runs_with_the_settings_of_its_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port = free_port()
    conf = _write(tmp_path / "c.toml", f'data = "data"\nregion = "cn-shanghai"\nlog-format = "json"\nport = {port}\n')
    # ServerProcess passes --port and --data itself: the file's values for both are overridden by flags.
    srv = ServerProcess(data, env=TEST_KEYS, args=["--config", str(conf)])
    srv.start()
    try:
        doc = httpx.get(f"{srv.url}/queues/missing", timeout=10)
        assert "cn-shanghai" in doc.text  # the region is in the MNS error body's HostId
    finally:
        assert srv.stop() == 0
    assert srv.log().startswith("{")  # the file's JSON log format


def test_the_documentation_lists_every_setting() -> None:
    doc = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `(--[a-z-]+)[^|]*\|.*\|$", doc, re.M) if m.group(1)}
    for s in SETTINGS:
        assert s.option in rows, f"{s.option} is not in the table of docs/configuration.md"
        row = rows[s.option]
        assert f"`{s.env}`" in row and f"`{s.key}`" in row, row
    assert len(rows) == len(SETTINGS) + 1  # and --config
