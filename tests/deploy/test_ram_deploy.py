"""Against a real server: a deploy file's ``ram:`` section applied idempotently, changed, and destroyed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server import TEST_KEYS, ServerProcess
from tidegate.deploy import Deployer, DeployError, load_deploy_file
from tidegate.ram.client import RamClient, items

FILE = """
ram:
  policies:
    send:
      description: send to the demo queue
      document:
        Version: "1"
        Statement: [{{Effect: Allow, Action: "mns:SendMessage", Resource: "{resource}"}}]
  roles:
    flow-role:
      trust: {{services: [fnf.aliyuncs.com]}}
      policies: [send, {extra}]
      description: {description}
      maxSessionDuration: 7200
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path / "data", env=TEST_KEYS)
    srv.start()
    yield srv
    srv.stop()


def _plan(
    tmp_path: Path,
    *,
    resource: str = "acs:mns:*:*:/queues/a/messages",
    extra: str = "AliyunMNSReadOnlyAccess",
    description: str = "runs flows",
) -> Path:
    path = tmp_path / "deploy.yaml"
    path.write_text(FILE.format(resource=resource, extra=extra, description=description))
    return path


def _steps(server: ServerProcess, path: Path, destroy: bool = False) -> list[str]:
    with Deployer(server.url, TEST_KEYS["TIDEGATE_ACCESS_KEY_ID"], TEST_KEYS["TIDEGATE_ACCESS_KEY_SECRET"]) as d:
        plan = load_deploy_file(path)
        steps = d.destroy(plan) if destroy else d.deploy(plan)
    return [f"{s.outcome} {s.kind} {s.name}" for s in steps]


def test_ram_section_applies_converges_and_destroys(server: ServerProcess, tmp_path: Path) -> None:
    ram = RamClient(server.url, TEST_KEYS["TIDEGATE_ACCESS_KEY_ID"], TEST_KEYS["TIDEGATE_ACCESS_KEY_SECRET"])
    assert _steps(server, _plan(tmp_path)) == [
        "created policy send",
        "created role flow-role",
        "created role policy flow-role/send",
        "created role policy flow-role/AliyunMNSReadOnlyAccess",
    ]
    role = ram.call("GetRole", {"RoleName": "flow-role"})["Role"]
    assert role["MaxSessionDuration"] == 7200 and role["Description"] == "runs flows"
    assert json.loads(role["AssumeRolePolicyDocument"])["Statement"][0]["Principal"] == {
        "Service": ["fnf.aliyuncs.com"]
    }

    # The same file again changes nothing.
    assert _steps(server, _plan(tmp_path)) == [
        "unchanged policy send",
        "unchanged role flow-role",
        "unchanged role policy flow-role/send",
        "unchanged role policy flow-role/AliyunMNSReadOnlyAccess",
    ]

    # A new document becomes the default version; the role's list converges; the description is updated.
    changed = _plan(
        tmp_path, resource="acs:mns:*:*:/queues/b/messages", extra="AliyunFCInvocationAccess", description="new"
    )
    assert _steps(server, changed) == [
        "updated policy send",
        "updated role flow-role",
        "unchanged role policy flow-role/send",
        "created role policy flow-role/AliyunFCInvocationAccess",
        "deleted role policy flow-role/AliyunMNSReadOnlyAccess",
    ]
    policy = ram.call("GetPolicy", {"PolicyName": "send", "PolicyType": "Custom"})
    assert policy["Policy"]["DefaultVersion"] == "v2"
    assert "/queues/b/messages" in policy["DefaultPolicyVersion"]["PolicyDocument"]
    attached = items(ram.call("ListPoliciesForRole", {"RoleName": "flow-role"}), "Policies", "Policy")
    assert sorted(p["PolicyName"] for p in attached) == ["AliyunFCInvocationAccess", "send"]
    assert ram.call("GetRole", {"RoleName": "flow-role"})["Role"]["Description"] == "new"

    # A policy's description cannot change: refused with a message that says what to do.
    path = tmp_path / "deploy.yaml"
    path.write_text(path.read_text().replace("send to the demo queue", "other words"))
    with pytest.raises(DeployError, match="policy send: the file's description differs"):
        _steps(server, path)

    assert _steps(server, changed, destroy=True) == ["deleted role flow-role", "deleted policy send"]
    assert _steps(server, changed, destroy=True) == ["absent role flow-role", "absent policy send"]
    ram.close()


def test_destroy_refuses_a_policy_still_attached_elsewhere(server: ServerProcess, tmp_path: Path) -> None:
    path = _plan(tmp_path)
    _steps(server, path)
    with RamClient(server.url, TEST_KEYS["TIDEGATE_ACCESS_KEY_ID"], TEST_KEYS["TIDEGATE_ACCESS_KEY_SECRET"]) as ram:
        ram.call("CreateUser", {"UserName": "carol"})
        ram.call("AttachPolicyToUser", {"UserName": "carol", "PolicyName": "send", "PolicyType": "Custom"})
        with pytest.raises(DeployError, match=r"DeleteConflict\.Policy\.User"):
            _steps(server, path, destroy=True)
        assert ram.call("GetPolicy", {"PolicyName": "send", "PolicyType": "Custom"})["Policy"]["PolicyName"] == "send"
