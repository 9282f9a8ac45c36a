"""The permission catalog: every route and action of every protocol has an entry, and the entries name the
actions and resources docs/auth.md lists (no server: the catalog and the policy evaluator, pure)."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.routing import Mount, Route

from tests.inprocess import TEST_ROOT
from tidegate.api import mns as mns_module
from tidegate.api.context import AppContext
from tidegate.api.fnf_actions import ACTIONS
from tidegate.api.permissions import FNF_RPC, Need, Where, request_context, rpc_needs
from tidegate.api.permissions_mns import MNS_NEEDS, mns_needs
from tidegate.api.permissions_rest import FUNCTION_NEEDS, REST_NEEDS
from tidegate.api.rest import PREFIX, REST_TABLE
from tidegate.api.rest_functions import FUNCTION_TABLE
from tidegate.api.rpc_params import Params
from tidegate.app import create_app
from tidegate.auth.errors import InvalidTaskToken
from tidegate.auth.keys import KeyRing
from tidegate.auth.policy import AccessRequest, Decision, evaluate, parse_policy
from tidegate.auth.system_policies import system_policy
from tidegate.console.flows_api import FLOW_ROUTES
from tidegate.console.mq_api import MQ_ROUTES
from tidegate.console.nodes_api import NODE_ROUTES
from tidegate.console.permissions import CONSOLE_NEEDS
from tidegate.console.tasks_api import TASK_ROUTES
from tidegate.deploy.host import FunctionHost

REGION, ACCOUNT = "cn-hangzhou", "1234567890123456"
W = Where(REGION, ACCOUNT, KeyRing(TEST_ROOT).task_tokens)

#: Routes that need no permission, with the reason (a new route must be added to a catalog, or here).
PUBLIC = {
    "/healthz": "liveness, no data",
    "/": "a browser's redirect to the console",
    "/console": "redirect",
    "/console/": "the page (code only, no data)",
    "/console/static": "the page's scripts and styles",
    "/console/api/session": "sign-in; the session document is the signed-in identity's own",
    "/console/api/permissions": "answers what the session's own identity may do",
    f"{PREFIX}/openapi.json": "the API's description",
    "/mns/certs/{name}": "the public push certificate subscribers verify pushes with",
    "/metrics": "tidegate:GetMetrics (app.metrics_route)",
    "/2016-08-15/proxy/{service}/{function}/{path:path}": "HTTP triggers: the function's authType",
    "/2016-08-15/proxy/{service}/{function}": "HTTP triggers: the function's authType",
    "/2016-08-15/proxy/{service}/{function}/": "HTTP triggers: the function's authType",
}


def test_every_rpc_action_has_an_entry() -> None:
    assert set(FNF_RPC) == set(ACTIONS)


def test_every_mns_handler_has_an_entry() -> None:
    handlers = {h.__name__ for _, by_method in mns_module._ROUTE_TABLE for h in by_method.values()}
    assert handlers == set(MNS_NEEDS)


def test_every_rest_and_console_handler_has_an_entry() -> None:
    assert {h.__name__ for _, _, h in REST_TABLE} == set(REST_NEEDS)
    assert {h.__name__ for _, by in FUNCTION_TABLE for h in by.values()} == set(FUNCTION_NEEDS)
    assert {h.__name__ for _, _, h in [*FLOW_ROUTES, *MQ_ROUTES, *NODE_ROUTES, *TASK_ROUTES]} == set(CONSOLE_NEEDS)


def test_every_route_of_the_app_is_authorized_or_public(app_ctx: AppContext, tmp_path: Path) -> None:
    """Walk the Starlette app's routes: each is one of the catalogued tables' paths or a listed public one."""
    host = FunctionHost(
        app_ctx.store, tmp_path, endpoint="http://127.0.0.1:1", region=REGION, account_id=ACCOUNT, workers=1
    )
    try:
        app = create_app(app_ctx, host).app
    finally:
        host.close()
    catalogued = {PREFIX + path for path, _, _ in REST_TABLE}
    catalogued |= {PREFIX + path for path, _ in FUNCTION_TABLE}
    catalogued |= {f"/console/api{path}" for path, _, _ in [*FLOW_ROUTES, *MQ_ROUTES, *NODE_ROUTES, *TASK_ROUTES]}
    paths = {r.path for r in app.router.routes if isinstance(r, Route | Mount)}  # type: ignore[attr-defined]
    unknown = paths - catalogued - set(PUBLIC)
    assert not unknown, f"routes without a permission entry: {sorted(unknown)}"
    assert catalogued <= paths  # the tables are what the app serves


# --- what the entries say ------------------------------------------------------------------------------------


def _rpc(action: str, **params: str) -> list[Need]:
    return list(rpc_needs(W, "fnf", action, Params(params)))


def test_fnf_actions_name_flows_executions_and_schedules() -> None:
    fnf = f"acs:fnf:{REGION}:{ACCOUNT}"
    assert _rpc("DescribeFlow", Name="f") == [Need("fnf:DescribeFlow", f"{fnf}:flow/f")]
    assert _rpc("ListFlows") == [Need("fnf:ListFlows", f"{fnf}:flow/*")]
    assert _rpc("StartExecution", FlowName="f", ExecutionName="e") == [
        Need("fnf:StartExecution", f"{fnf}:flows/f/executions/e")
    ]
    assert _rpc("StartExecution", FlowName="f") == [Need("fnf:StartExecution", f"{fnf}:flows/f/executions/*")]
    assert _rpc("ListExecutions", FlowName="f") == [Need("fnf:ListExecutions", f"{fnf}:flows/f/executions/*")]
    assert _rpc("DeleteSchedule", FlowName="f", ScheduleName="s") == [
        Need("fnf:DeleteSchedule", f"{fnf}:flows/f/schedules/s")
    ]


def test_setting_a_role_needs_pass_role() -> None:
    role = f"acs:ram::{ACCOUNT}:role/fnf-exec"
    needs = _rpc("CreateFlow", Name="f", Definition="x", RoleArn=role)
    assert needs == [Need("fnf:CreateFlow", f"acs:fnf:{REGION}:{ACCOUNT}:flow/f"), Need("ram:PassRole", role)]
    assert _rpc("UpdateFlow", Name="f")[1:] == []  # no RoleArn, no PassRole
    # The REST API and the console ask the same.
    assert REST_NEEDS["create_flow"](W, {}, {}, {"name": "f", "role_arn": role})[1] == Need("ram:PassRole", role)
    assert REST_NEEDS["update_flow"](W, {"flow": "f"}, {}, {"role_arn": role})[1] == Need("ram:PassRole", role)


def test_a_task_report_is_on_the_execution_its_token_names() -> None:
    token = W.signer.mint("f", "e", "3.1", execution_id=7, flow_id="flow-id")
    expected = [Need("fnf:ReportTaskSucceeded", f"acs:fnf:{REGION}:{ACCOUNT}:flows/f/executions/e")]
    assert _rpc("ReportTaskSucceeded", TaskToken=token) == expected
    beat = [Need("fnf:ReportTaskHeartbeat", expected[0].resource)]
    assert _rpc("ReportTaskHeartbeat", TaskToken=token) == beat
    assert REST_NEEDS["task_heartbeat"](W, {}, {}, {"token": token}) == beat
    assert list(REST_NEEDS["task_succeeded"](W, {}, {}, {"token": token})) == expected
    with pytest.raises(InvalidTaskToken):  # what the action itself answers, not a denial
        _rpc("ReportTaskFailed", TaskToken=token[:-4] + "AAAA")


def test_mns_operations_pick_the_action_by_query() -> None:
    base = f"acs:mns:{REGION}:{ACCOUNT}"
    assert mns_needs(W, "receive_messages", ("q",), {}) == [Need("mns:ReceiveMessage", f"{base}:/queues/q/messages")]
    assert mns_needs(W, "receive_messages", ("q",), {"peekonly": "true"})[0].action == "mns:PeekMessage"
    assert mns_needs(W, "put_queue", ("q",), {}) == [Need("mns:CreateQueue", f"{base}:/queues/q")]
    assert mns_needs(W, "put_queue", ("q",), {"metaoverride": "true"})[0].action == "mns:SetQueueAttributes"
    assert mns_needs(W, "publish", ("t",), {}) == [Need("mns:PublishMessage", f"{base}:/topics/t/messages")]
    assert mns_needs(W, "put_subscription", ("t", "s"), {}) == [
        Need("mns:Subscribe", f"{base}:/topics/t/subscriptions/s")
    ]
    assert mns_needs(W, "list_queues", (), {}) == [Need("mns:ListQueue", f"{base}:/queues")]


def test_ram_and_sts_actions_name_the_entity() -> None:
    assert rpc_needs(W, "ram", "AttachPolicyToUser", Params({"UserName": "u", "PolicyName": "p"})) == [
        Need("ram:AttachPolicyToUser", f"acs:ram::{ACCOUNT}:user/u")
    ]
    assert rpc_needs(W, "ram", "AddUserToGroup", Params({"UserName": "u", "GroupName": "g"})) == [
        Need("ram:AddUserToGroup", f"acs:ram::{ACCOUNT}:group/g")
    ]
    assert rpc_needs(W, "ram", "ListUsers", Params({})) == [Need("ram:ListUsers", "*")]
    role = f"acs:ram::{ACCOUNT}:role/r"
    assert rpc_needs(W, "sts", "AssumeRole", Params({"RoleArn": role})) == [Need("sts:AssumeRole", role)]
    assert rpc_needs(W, "sts", "GetCallerIdentity", Params({})) == []


def test_request_context() -> None:
    scope = {"client": ("10.1.2.3", 5555), "scheme": "https", "headers": [(b"user-agent", b"sdk/1.0")]}
    context = request_context(scope, 1_700_000_000_123)
    assert context == {
        "acs:SourceIp": ("10.1.2.3",),
        "acs:SecureTransport": ("true",),
        "acs:CurrentTime": ("2023-11-14T22:13:20.123Z",),
        "acs:UserAgent": ("sdk/1.0",),
        "acs:MFAPresent": ("false",),
    }
    assert request_context({"scheme": "http", "headers": []}, 0)["acs:SecureTransport"] == ("false",)


# --- the documents' policies against the catalog's resources ------------------------------------------------


def _decide(policy_text: str, need: Need) -> Decision:
    return evaluate([parse_policy(policy_text)], AccessRequest(need.action, need.resource))


def test_the_first_documents_policy_allows_sending_to_its_queue_only() -> None:
    policy = (
        '{"Version": "1", "Statement": [{"Effect": "Allow", "Action": ["mns:SendMessage"],'
        f' "Resource": ["acs:mns:{REGION}:{ACCOUNT}:/queues/fnf-demo/messages"]}}]}}'
    )
    assert _decide(policy, mns_needs(W, "send_messages", ("fnf-demo",), {})[0]) is Decision.ALLOW
    assert _decide(policy, mns_needs(W, "send_messages", ("other",), {})[0]) is Decision.IMPLICIT_DENY
    assert _decide(policy, mns_needs(W, "receive_messages", ("fnf-demo",), {})[0]) is Decision.IMPLICIT_DENY


def test_read_only_system_policies_allow_reading_and_refuse_changes() -> None:
    fnf = system_policy("AliyunFnFReadOnlyAccess").policy
    mns = system_policy("AliyunMNSReadOnlyAccess").policy

    def decide(policy: object, need: Need) -> Decision:
        return evaluate([policy], AccessRequest(need.action, need.resource))  # type: ignore[list-item]

    assert decide(fnf, _rpc("DescribeExecution", FlowName="f", ExecutionName="e")[0]) is Decision.ALLOW
    assert decide(fnf, _rpc("StartExecution", FlowName="f")[0]) is Decision.IMPLICIT_DENY
    assert decide(fnf, _rpc("StopExecution", FlowName="f", ExecutionName="e")[0]) is Decision.IMPLICIT_DENY
    assert decide(mns, mns_needs(W, "get_queue", ("q",), {})[0]) is Decision.ALLOW
    assert decide(mns, mns_needs(W, "send_messages", ("q",), {})[0]) is Decision.IMPLICIT_DENY


def test_the_waiting_tasks_are_listed_and_reported_on_executions() -> None:
    fnf = f"acs:fnf:{REGION}:{ACCOUNT}"
    for needs in (REST_NEEDS, CONSOLE_NEEDS):
        assert needs["list_tasks"](W, {}, {}, {}) == [Need("fnf:ListExecutions", f"{fnf}:flows/*/executions/*")]
        assert needs["list_tasks"](W, {}, {"flow": "f"}, {}) == [
            Need("fnf:ListExecutions", f"{fnf}:flows/f/executions/*")
        ]
        path = {"flow": "f", "execution": "e", "task": "2.1"}
        assert needs["waiting_task_succeeded"](W, path, {}, {}) == [
            Need("fnf:ReportTaskSucceeded", f"{fnf}:flows/f/executions/e")
        ]
        assert needs["waiting_task_failed"](W, path, {}, {}) == [
            Need("fnf:ReportTaskFailed", f"{fnf}:flows/f/executions/e")
        ]
