"""Servers sharing a store must agree on the root key, the region and the account, else one refuses to start.

Real ``tidegate server`` processes on one store of each backend (a SQLite file two data folders name with
``--store``, a PostgreSQL schema): the first records the store's identity, a later one that differs is
refused with one line and exit code 2 before it creates anything, ``--check`` says the same, and
``--reset-identity`` is how every server moves to a new key.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import pytest

from tests.cli.helpers import Result, assert_one_line_error, tidegate
from tests.conftest import REPO
from tests.server import ServerProcess, free_port
from tests.waiting import wait_until
from tidegate.runtime.identity import SETTING, key_fingerprint
from tidegate.store import open_store

ID, SECRET = "TIDEGATE_ACCESS_KEY_ID", "TIDEGATE_ACCESS_KEY_SECRET"
KEY_A = {ID: "LTAIidentityTestKeyA", SECRET: "identitySecretOfKeyA00000001"}
KEY_B = {ID: "LTAIidentityTestKeyB", SECRET: "identitySecretOfKeyB00000002"}
#: Every variable a test server could inherit from the caller's environment and that the identity depends on.
_NEUTRAL = {"TIDEGATE_REGION": "", "TIDEGATE_ACCOUNT_ID": ""}
FLOW = "mns-queue-callback"


def _settings(url: str) -> dict[str, str]:
    store = open_store(url)
    try:
        with store.database.read() as tx:
            rows = tx.raw("SELECT key, value FROM settings ORDER BY key")
        return {str(r["key"]): str(r["value"]) for r in rows}
    finally:
        store.close()


def _server(tmp_path: Path, name: str, url: str, env: Mapping[str, str], *args: str) -> ServerProcess:
    return ServerProcess(tmp_path / name, env={**_NEUTRAL, **env}, args=["--store", url, *args])


def _start_refused(tmp_path: Path, name: str, url: str, env: Mapping[str, str], *args: str) -> Result:
    """``tidegate server`` that is expected to refuse (it would serve until the timeout otherwise)."""
    data = tmp_path / name
    return tidegate(
        "server", "--port", str(free_port()), "--data", str(data), "--store", url, *args, env=env, timeout=60
    )


@pytest.fixture
def first(store_url: str, tmp_path: Path) -> Iterator[ServerProcess]:
    """The first server on the store (root key A, default region and account): it records the identity."""
    assert _settings(store_url).get(SETTING) is None  # a store no server recorded an identity in yet
    srv = _server(tmp_path, "first", store_url, KEY_A)
    srv.start()
    yield srv
    srv.stop()


def test_the_first_server_records_fingerprints_never_the_secret(first: ServerProcess, store_url: str) -> None:
    settings = _settings(store_url)
    identity = json.loads(settings[SETTING])
    secret = KEY_A[SECRET]
    assert identity == {
        "account_id": "1234567890123456",
        "region": "cn-hangzhou",
        "key_id": KEY_A[ID],
        "key_fingerprint": key_fingerprint(secret),
    }
    assert key_fingerprint(secret) != key_fingerprint(KEY_B[SECRET])
    assert all(secret not in key and secret not in value for key, value in settings.items())
    assert "recorded the store's server identity" in first.log()


@pytest.mark.parametrize(
    ("env", "says"),
    [
        (KEY_B, f"this server has root key {KEY_B[ID]} (fingerprint "),
        (
            {**KEY_A, SECRET: "anotherSecretForTheSameId"},
            f"this server has root key {KEY_A[ID]} with another secret",
        ),
        ({**KEY_A, "TIDEGATE_REGION": "cn-beijing"}, "this server has region cn-beijing:"),
        ({**KEY_A, "TIDEGATE_ACCOUNT_ID": "999"}, "this server has account 999:"),
        ({}, "this server has no root key yet"),
    ],
    ids=["other-key", "other-secret", "other-region", "other-account", "no-key"],
)
def test_a_server_that_differs_is_refused_and_changes_nothing(
    first: ServerProcess, store_url: str, tmp_path: Path, env: dict[str, str], says: str
) -> None:
    before = _settings(store_url)
    r = _start_refused(tmp_path, "second", store_url, env)
    assert r.rc == 2, r
    stored = f"this store belongs to account 1234567890123456, region cn-hangzhou, root key {KEY_A[ID]}"
    assert_one_line_error(r, stored, says)
    assert env.get(SECRET, "\0") not in r.err
    assert not (tmp_path / "second").exists()  # refused before its data folder, or a root key, was created
    assert _settings(store_url) == before

    check = tidegate(
        "server",
        "--check",
        "--port",
        str(free_port()),
        "--data",
        str(tmp_path / "second"),
        "--store",
        store_url,
        env=env,
    )
    assert check.rc == 2, check
    assert_one_line_error(check, stored, says)
    assert _settings(store_url) == before

    # The first server still serves its key.
    assert httpx.get(f"{first.url}/api/v1/flows", auth=(KEY_A[ID], KEY_A[SECRET]), timeout=10).status_code == 200


def _token_for(name: str, env: dict[str, str]) -> str:
    """The task token execution ``name`` of the queue-callback flow handed to its queue (from its history)."""
    found: list[str] = []

    def submitted() -> bool:
        r = tidegate("exec", "history", FLOW, name, "--json", env=env)
        assert r.rc == 0, r
        events = r.json()["events"]
        if "TaskSubmitted" in [e["type"] for e in events]:
            found.append(next(e for e in events if e["type"] == "TaskScheduled")["detail"]["input"]["task_token"])
        return bool(found)

    wait_until(submitted, timeout=60, interval=0.2, message=f"{name} to send its message")
    return found[0]


def test_servers_with_the_same_identity_share_the_store_and_its_tokens(
    first: ServerProcess, store_url: str, tmp_path: Path
) -> None:
    on_first = {**KEY_A, "TIDEGATE_ENDPOINT": first.url}
    deployed = tidegate("deploy", str(REPO / "examples" / "queue-callback" / "deploy.yaml"), env=on_first)
    assert deployed.rc == 0, deployed
    name = "id-" + uuid.uuid4().hex[:8]
    assert tidegate("exec", "start", FLOW, "--name", name, env=on_first).rc == 0
    token = _token_for(name, on_first)  # minted by the first server: it is the only one yet

    check = tidegate(
        "server", "--check", "--port", str(free_port()), "--data", str(tmp_path / "x"), "--store", store_url, env=KEY_A
    )
    assert check.rc == 0, check
    assert f"root key {KEY_A[ID]} (fingerprint " in check.out and "this server's" in check.out
    second = _server(tmp_path, "second", store_url, KEY_A)
    second.start()
    try:
        assert "recorded the store's server identity" not in second.log()
        on_second = {**KEY_A, "TIDEGATE_ENDPOINT": second.url}
        reported = tidegate("task", "succeed", token, "--output", '{"shipped": true}', env=on_second)
        assert reported.rc == 0, reported

        def succeeded() -> bool:
            r = tidegate("exec", "describe", FLOW, name, "--json", env=on_first)
            assert r.rc == 0, r
            return bool(r.json()["status"] == "Succeeded")

        wait_until(succeeded, timeout=60, interval=0.2, message=f"{name} to succeed")
    finally:
        assert second.stop() == 0, second.log()


def test_reset_identity_moves_the_store_to_a_new_key(first: ServerProcess, store_url: str, tmp_path: Path) -> None:
    assert first.stop() == 0
    check = tidegate(
        "server",
        "--check",
        "--reset-identity",
        "--port",
        str(free_port()),
        "--data",
        str(tmp_path / "b"),
        "--store",
        store_url,
        env=KEY_B,
    )
    assert check.rc == 0, check
    assert "replaced by this server's on start (--reset-identity; was account 1234567890123456" in check.out

    rotated = _server(tmp_path, "b", store_url, KEY_B, "--reset-identity")
    rotated.start()
    assert rotated.stop() == 0
    assert "--reset-identity: the store now belongs to" in rotated.log()
    assert json.loads(_settings(store_url)[SETTING])["key_id"] == KEY_B[ID]

    # Now the old key is the one that differs; a server with the new key starts without the flag.
    old = _start_refused(tmp_path, "old", store_url, {**_NEUTRAL, **KEY_A})
    assert_one_line_error(old, f"root key {KEY_B[ID]}", f"this server has root key {KEY_A[ID]}")
    assert old.rc == 2
    again = _server(tmp_path, "b2", store_url, KEY_B)
    again.start()
    assert again.stop() == 0


@pytest.mark.parametrize(
    "value", ["not json", '{"key_id": "x"}', json.dumps({"a": 1} | {str(i): "x" * 300 for i in range(4)})]
)
def test_an_unreadable_identity_is_refused_until_a_reset(
    first: ServerProcess, store_url: str, tmp_path: Path, value: str
) -> None:
    assert first.stop() == 0
    store = open_store(store_url)
    try:
        store.replace_setting(SETTING, value)
    finally:
        store.close()
    r = _start_refused(tmp_path, "second", store_url, {**_NEUTRAL, **KEY_A})
    assert r.rc == 2, r
    assert_one_line_error(r, "the store's server identity", "is unreadable", "--reset-identity")
    first.args.append("--reset-identity")
    first.start()
    assert first.stop() == 0
    assert json.loads(_settings(store_url)[SETTING])["key_id"] == KEY_A[ID]
