"""The official MNS SDKs drive every MNS operation (docs/protocols.md) against a real ``tidegate server`` process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sdkenv import mns115_env, mns130_env, run_in_env  # noqa: F401  (fixtures)
from tests.server import TEST_KEYS, ServerProcess

DRIVER = (Path(__file__).parent / "sdk_driver.py").read_text()
ACCOUNT = "1234567890123456"
REGION = "cn-hangzhou"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = ServerProcess(
        tmp_path_factory.mktemp("mns-sdk") / "data", env={**TEST_KEYS, "TIDEGATE_PUSH_RETRY_SCALE": "0.01"}
    )
    srv.start()
    yield srv
    srv.stop()


def _drive(env_name: str, server: ServerProcess, prefix: str) -> dict[str, object]:
    env = {"MNS_URL": server.url, "PREFIX": prefix, "REGION": REGION, "ACCOUNT": ACCOUNT}
    proc = run_in_env(env_name, DRIVER, env=env, timeout=120)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}\n{server.log()[-3000:]}"
    result: dict[str, object] = json.loads(lines[-1][len("RESULT ") :])
    return result


@pytest.mark.parametrize("env_name", ["mns115", "mns130"])
def test_every_operation(env_name: str, server: ServerProcess, request: pytest.FixtureRequest) -> None:
    request.getfixturevalue(f"{env_name}_env")
    r = _drive(env_name, server, f"sdk{env_name[3:]}-")
    assert r["create"] == f"{server.url}/queues/sdk{env_name[3:]}-q"
    assert r["recreate_same"] is None and r["recreate_other"] == "QueueAlreadyExist"
    assert r["attrs"] == [2, 1, 0]
    assert r["list1"] == [1, True] and r["list2"] == [1, ""]
    assert r["send"] == 32 and r["batch_send"] == 3
    assert r["peek"] == "first" and r["batch_peek"] == 5
    assert r["receive"] == ["first", 1, 1]
    assert r["batch_receive"] == ["b0", "b1", "b2", "hello"]
    assert r["stale_after_change"] == "ReceiptHandleError"
    assert r["empty_receive"] == "MessageNotExist" and 0.9 <= float(str(r["empty_wait"])) < 3
    assert r["empty_batch"] == "MessageNotExist"
    assert r["redelivered"] == [2, True] and r["old_handle"] == "ReceiptHandleError"
    assert r["bad_handle"] == "ReceiptHandleError"
    assert r["after_delete"] == "QueueNotExist" and r["send_missing"] == "QueueNotExist"
    assert r["topic_create"] is True and r["topic_attrs"] == 10240 and r["topic_list"] == 1
    assert r["subscribe"] is True and r["subscribe_again"] == "SubscriptionAlreadyExist"
    assert r["sub_attrs"] == [True, "SIMPLIFIED"] and r["sub_strategy"] == "EXPONENTIAL_DECAY_RETRY"
    assert r["sub_list"] == 1 and r["publish"] == 32
    assert r["via_queue"] == "pushed body"
    assert r["topic_gone"] == "TopicNotExist"
    assert r["account"] == ("sdk-broken" if env_name == "mns115" else "")
    assert r["wrong_secret"] == "SignatureDoesNotMatch" and r["unknown_key"] == "InvalidAccessKeyId"
