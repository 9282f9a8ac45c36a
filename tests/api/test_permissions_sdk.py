"""Acceptance: RAM users with limited policies, driven by the official SDKs against a real server.

A user holding exactly the first source document's policy (``mns:SendMessage`` on
``acs:mns:$region:$account_id:/queues/fnf-demo/messages``) sends to fnf-demo with aliyun-mns-sdk 1.3.0 and
is refused (403 AccessDenied) on another queue and on ReceiveMessage; a user with AliyunFnFReadOnlyAccess
describes an execution with aliyun-python-sdk-fnf and is refused StartExecution. The users are created
with RamService on the server's store (the RAM API is another module's).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.api.mns_user import sends_as
from tests.api.sdk import run_scenario
from tests.inprocess import TEST_ROOT
from tests.sdkenv import fnfcore_env, mns130_env, run_in_env  # noqa: F401  (fixtures)
from tests.server import TEST_KEYS, ServerProcess
from tidegate.auth.keys import KeyRing
from tidegate.names import DEFAULT_ACCOUNT_ID, DEFAULT_REGION
from tidegate.ram.model import EntityType
from tidegate.ram.service import RamService
from tidegate.store import open_store

FIRST_DOCUMENT_POLICY = json.dumps(
    {
        "Version": "1",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["mns:SendMessage"],
                "Resource": [f"acs:mns:{DEFAULT_REGION}:{DEFAULT_ACCOUNT_ID}:/queues/fnf-demo/messages"],
            }
        ],
    }
)
FLOW = "version: v1\ntype: flow\nsteps:\n  - type: pass\n    name: p\n"


@dataclass(frozen=True)
class Users:
    """The server, and the AccessKeys (id, secret) of its test users."""

    server: ServerProcess
    sender: tuple[str, str]
    reader: tuple[str, str]


@pytest.fixture(scope="module")
def users(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Users]:
    base = tmp_path_factory.mktemp("permissions")
    url = f"sqlite:///{base / 'store.db'}"
    server = ServerProcess(base / "data", env=TEST_KEYS, args=["--store", url])
    server.start()
    store = open_store(url)
    try:
        ram = RamService(store, KeyRing(TEST_ROOT), account_id=DEFAULT_ACCOUNT_ID)
        ram.create_user("sender")
        ram.create_policy("fnf-demo-send", FIRST_DOCUMENT_POLICY)
        ram.attach_policy(EntityType.USER, "sender", "Custom", "fnf-demo-send")
        ram.create_user("reader")
        ram.attach_policy(EntityType.USER, "reader", "System", "AliyunFnFReadOnlyAccess")
        ram.attach_policy(EntityType.USER, "reader", "System", "AliyunMNSReadOnlyAccess")
        keys = [ram.create_access_key(name) for name in ("sender", "reader")]
        sender, reader = ((k.key_id, k.secret or "") for k in keys)
        yield Users(server, sender, reader)
    finally:
        store.close()
        server.stop()


@pytest.mark.usefixtures("mns130_env")
def test_the_first_documents_policy_sends_to_its_queue_only(users: Users) -> None:
    ak, sk = users.sender
    res = sends_as(users.server.url, ak, sk)
    assert res["send"] == {"ok": 32}
    assert res["send_other"]["error"] == "AccessDenied"
    assert "mns:SendMessage" in res["send_other"]["message"]
    assert res["receive"]["error"] == "AccessDenied"
    assert res["root_receive"] == {"ok": "hello"}  # the user's message arrived; root keeps full access
    log = users.server.log()
    assert "acs:ram::" in log and "user/sender" in log and "mns:ReceiveMessage" in log  # the denial is logged


@pytest.mark.usefixtures("fnfcore_env")
def test_read_only_user_describes_and_is_refused_start(users: Users) -> None:
    root_out = run_scenario(
        "fnfcore",
        users.server.endpoint,
        f"""
        out["create"] = call("CreateFlow", Name="ro-flow", Definition={FLOW!r}, Description="d", Type="FDL")
        out["start"] = call("StartExecution", FlowName="ro-flow", ExecutionName="e1")
        """,
    )
    assert "ok" in root_out["create"] and "ok" in root_out["start"]
    ak, sk = users.reader
    out = run_scenario(
        "fnfcore",
        users.server.endpoint,
        """
        out["describe"] = call("DescribeExecution", FlowName="ro-flow", ExecutionName="e1")
        out["list"] = call("ListFlows")
        out["start"] = call("StartExecution", FlowName="ro-flow", ExecutionName="e2")
        out["stop"] = call("StopExecution", FlowName="ro-flow", ExecutionName="e1")
        out["delete"] = call("DeleteFlow", Name="ro-flow")
        """,
        ak=ak,
        sk=sk,
    )
    assert out["describe"]["ok"]["Name"] == "e1"
    assert [f["Name"] for f in out["list"]["ok"]["Flows"]] == ["ro-flow"]
    for refused in ("start", "stop", "delete"):
        assert out[refused]["error"] == "AccessDenied", out[refused]
        assert out[refused]["status"] == 403
    assert "fnf:StartExecution" in out["start"]["message"]
