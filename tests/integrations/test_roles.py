"""Execution roles: task steps act as their flow's role (the default one without a RoleArn), on both stores.

The runtime runs as ``tidegate server`` wires it (:class:`TaskRoles` for MNS sends, function calls and child
flows); flows are created through :class:`WorkflowService` with the app's authorizer, so their RoleArn is
checked as every protocol checks it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.inprocess import TEST_ROOT
from tests.runtime.helpers import wait_ended
from tests.stores import OpenUrl
from tidegate.api.context import AppContext
from tidegate.auth.keys import KeyRing
from tidegate.integrations.mns import mns_targets
from tidegate.integrations.roles import TaskRoles
from tidegate.mq import QueueService
from tidegate.mq.errors import MessageNotExist
from tidegate.mq.wire import QueueAttributes
from tidegate.ram.model import EntityType
from tidegate.ram.service import RamService
from tidegate.ram.service_roles import (
    DEFAULT_EXECUTION_POLICIES,
    DEFAULT_EXECUTION_ROLE,
    ensure_default_execution_role,
    service_trust_policy,
)
from tidegate.runtime import Runtime
from tidegate.runtime.service import InvalidArgument
from tidegate.status import ExecutionStatus
from tidegate.store import Store

ACCOUNT = TEST_ROOT.account_id
REGION = "cn-hangzhou"
#: The first source document's policy, exactly (its $region and $account_id filled in).
SEED_POLICY = json.dumps(
    {
        "Version": "1",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["mns:SendMessage"],
                "Resource": [f"acs:mns:{REGION}:{ACCOUNT}:/queues/fnf-demo/messages"],
            }
        ],
    }
)
SEND = """version: v1
type: flow
steps:
  - type: task
    name: send
    resourceArn: acs:mns:::/queues/{queue}/messages
    serviceParams:
      MessageBody: $.text
    catch:
      - errors: [MNS.AccessDenied]
        goto: refused
  - {{type: pass, name: sent, end: true}}
  - type: pass
    name: refused
    outputMappings:
      - {{target: refused, source: true}}
"""
CHILD = "version: v1\ntype: flow\nsteps:\n  - type: pass\n    name: p\n"
CALLS = """version: v1
type: flow
steps:
  - type: task
    name: call
    resourceArn: {arn}
"""


@dataclass
class App:
    ctx: AppContext
    queues: QueueService

    def role(self, name: str, *policies: tuple[str, str], services: tuple[str, ...] = ("fnf.aliyuncs.com",)) -> str:
        """Create role ``name`` trusting ``services`` with ``policies`` (type, name); return its ARN."""
        self.ctx.ram.create_role(name, service_trust_policy(*services))
        for kind, policy in policies:
            self.ctx.ram.attach_policy(EntityType.ROLE, name, kind, policy)
        return f"acs:ram::{ACCOUNT}:role/{name}"

    def run(self, flow: str, data: dict[str, object] | None = None) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
        """Start ``flow``, wait for its end; return status, output and the TaskFailed events' details."""
        ex, _ = self.ctx.service.start_execution(flow, None, json.dumps(data or {"text": "hello"}))
        done = wait_ended(self.ctx.store, ex.id)
        events = self.ctx.store.get_history(ex.id)
        failures = [
            json.loads(h.detail) if isinstance(h.detail, str) else h.detail for h in events if h.type == "TaskFailed"
        ]
        return done.status, json.loads(done.output or "{}"), failures


@pytest.fixture
def app(store: Store, tmp_path: Path) -> Iterator[App]:
    ctx = AppContext(store=store, keyring=KeyRing(TEST_ROOT), region=REGION)
    ensure_default_execution_role(ctx.ram)
    roles = TaskRoles(store, ctx.authorizer)
    ctx.service.flow_changed = roles.forget
    transactional = mns_targets(store, region=REGION, account_id=ACCOUNT, roles=roles)
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "fn.py").write_text("def handler(event, context):\n    return {'called': True}\n")
    runtime = Runtime(
        store,
        signer=ctx.signer,
        functions_dir=tmp_path,
        workers=1,
        region=REGION,
        account_id=ACCOUNT,
        roles=roles,
        transactional=transactional,
    )
    ctx.service.apply_now = runtime.driver.apply_now
    queues = QueueService(store.database)
    for q in ("fnf-demo", "other"):
        queues.create_queue(q, QueueAttributes())
    with runtime:
        yield App(ctx, queues)


def test_seed_policy_sends_to_fnf_demo_and_to_nothing_else(app: App) -> None:
    ram = app.ctx.ram
    ram.create_policy("seed", SEED_POLICY)
    arn = app.role("seed-flow", ("Custom", "seed"))
    app.ctx.service.create_flow("to-demo", SEND.format(queue="fnf-demo"), role_arn=arn)
    app.ctx.service.create_flow("to-other", SEND.format(queue="other"), role_arn=arn)

    status, output, failures = app.run("to-demo")
    assert status == ExecutionStatus.SUCCEEDED and "MessageId" in output and failures == []
    assert [m.body for m in app.queues.receive("fnf-demo", 10)] == ["hello"]

    status, output, failures = app.run("to-other")
    assert status == ExecutionStatus.SUCCEEDED and output.get("refused") is True  # the catch ran
    (failure,) = failures
    assert failure["error"] == "MNS.AccessDenied"
    for part in (arn, "mns:SendMessage", f"acs:mns:{REGION}:{ACCOUNT}:/queues/other/messages"):
        assert part in failure["cause"]
    with pytest.raises(MessageNotExist):  # nothing was sent
        app.queues.receive("other", 10, wait_s=0)


def test_flows_without_a_role_run_as_the_default_role_which_the_operator_may_narrow(app: App) -> None:
    ram = app.ctx.ram
    role = ram.get_role(DEFAULT_EXECUTION_ROLE)
    assert "fnf.aliyuncs.com" in role.trust_policy
    attached = {a.policy_name for a in ram.list_policies_for(EntityType.ROLE, DEFAULT_EXECUTION_ROLE)}
    assert attached == set(DEFAULT_EXECUTION_POLICIES)
    app.ctx.service.create_flow("plain", SEND.format(queue="other"))
    status, output, _ = app.run("plain")
    assert status == ExecutionStatus.SUCCEEDED and "MessageId" in output

    ram.detach_policy(EntityType.ROLE, DEFAULT_EXECUTION_ROLE, "System", "AliyunMNSFullAccess")
    assert not ensure_default_execution_role(ram)  # a later start leaves the narrowed role as it is
    status, output, (failure,) = app.run("plain")
    assert output.get("refused") is True and failure["error"] == "MNS.AccessDenied"
    assert DEFAULT_EXECUTION_ROLE in failure["cause"]


def test_function_calls_and_child_flows_are_checked_too(app: App) -> None:
    arn = app.role("nothing")  # a role with no policy may do nothing
    app.ctx.service.create_flow("child", CHILD)
    fc = CALLS.format(arn="acs:fc:::services/svc/functions/fn")
    app.ctx.service.create_flow("calls-fc", fc, role_arn=arn)
    app.ctx.service.create_flow("calls-child", CALLS.format(arn="acs:fnf:::flow/child"), role_arn=arn)
    status, _, (failure,) = app.run("calls-fc")
    assert status == ExecutionStatus.FAILED and failure["error"] == "FC.AccessDenied"
    assert f"acs:fc:{REGION}:{ACCOUNT}:services/svc/functions/fn" in failure["cause"]
    status, _, (failure,) = app.run("calls-child")
    assert status == ExecutionStatus.FAILED and failure["error"] == "FnF.AccessDenied"
    assert "fnf:StartExecution" in failure["cause"] and f"{ACCOUNT}:flows/child/executions/" in failure["cause"]
    assert app.ctx.store.list_executions("child", limit=10).items == []  # no child was started

    # Allowed to start the child: the child runs.
    app.ctx.ram.create_policy("start-child", json.dumps({"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": "fnf:StartExecution", "Resource": "acs:fnf:*:*:flows/child/executions/*"}
    ]}))  # fmt: skip
    app.ctx.ram.attach_policy(EntityType.ROLE, "nothing", "Custom", "start-child")
    assert app.run("calls-child")[0] == ExecutionStatus.SUCCEEDED
    app.ctx.ram.attach_policy(EntityType.ROLE, "nothing", "System", "AliyunFCInvocationAccess")
    assert app.run("calls-fc")[:2] == (ExecutionStatus.SUCCEEDED, {"called": True})


@pytest.mark.parametrize(
    ("role_arn", "message"),
    [
        ("arn:role", "is not valid: use acs:ram::ACCOUNT:role/NAME"),
        (f"acs:ram::{ACCOUNT}:role/" + "r" * 300, "is not valid"),
        ("acs:ram::999:role/runner", "names a role of the account 999"),
        (f"acs:ram::{ACCOUNT}:role/missing", "names a role that does not exist"),
        (f"acs:ram::{ACCOUNT}:role/fc-only", "does not trust fnf.aliyuncs.com"),
    ],
)
def test_a_role_arn_that_cannot_run_the_flow_is_refused(app: App, role_arn: str, message: str) -> None:
    app.role("fc-only", services=("fc.aliyuncs.com",))
    with pytest.raises(InvalidArgument, match=message):
        app.ctx.service.create_flow("f", CHILD, role_arn=role_arn)
    app.ctx.service.create_flow("f", CHILD)
    with pytest.raises(InvalidArgument, match=message):
        app.ctx.service.update_flow("f", role_arn=role_arn)
    assert app.ctx.store.get_flow("f").role_arn == ""


def test_a_stored_role_that_went_away_fails_the_task_clearly(app: App) -> None:
    arn = app.role("short-lived", ("System", "AliyunMNSFullAccess"))
    app.ctx.service.create_flow("f", SEND.format(queue="other"), role_arn=arn)
    assert "MessageId" in app.run("f")[1]
    app.ctx.ram.detach_policy(EntityType.ROLE, "short-lived", "System", "AliyunMNSFullAccess")
    app.ctx.ram.delete_role("short-lived")
    status, output, (failure,) = app.run("f")
    assert status == ExecutionStatus.SUCCEEDED and output.get("refused") is True  # the driver went on
    assert failure["error"] == "MNS.AccessDenied"
    assert "cannot be used" in failure["cause"] and "does not exist" in failure["cause"]


def test_servers_starting_together_create_the_default_role_once(open_url: OpenUrl) -> None:
    stores = [open_url() for _ in range(4)]
    services = [RamService(s, KeyRing(TEST_ROOT), account_id=ACCOUNT) for s in stores]
    with ThreadPoolExecutor(4) as pool:
        created = list(pool.map(ensure_default_execution_role, services))
    assert created.count(True) == 1
    attached = services[0].list_policies_for(EntityType.ROLE, DEFAULT_EXECUTION_ROLE)
    assert sorted(a.policy_name for a in attached) == sorted(DEFAULT_EXECUTION_POLICIES)
