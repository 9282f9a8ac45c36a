"""What each request of each protocol asks the authorizer: its RAM action and resource (docs/auth.md).

A request needs one or more :class:`Need` (an action on a resource), all of which must be allowed. The
catalogs map each protocol's operations to their needs: the Serverless Workflow RPC actions
(:data:`FNF_RPC`), the RAM and STS RPC actions (:func:`ram_needs`, :func:`sts_needs`), the MNS operations
(:mod:`tidegate.api.permissions_mns`), the REST routes (:mod:`tidegate.api.permissions_rest`) and the
console's JSON routes (``tidegate.console.permissions``), the last two mapped to the SAME actions as their
RPC and MNS equivalents. :func:`authorize` asks :class:`~tidegate.ram.Authorizer` for each need (the root
key skips everything at once); :func:`request_context` gives the condition keys of a request.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from starlette.types import Scope

from tidegate.api.rpc_params import Params
from tidegate.auth.tasktoken import TaskTokenSigner
from tidegate.ram import Principal, arns
from tidegate.ram.authorizer import Authorizer

__all__ = [
    "FNF_RPC",
    "Need",
    "Where",
    "authorize",
    "authorize_rpc",
    "execution_need",
    "flow_need",
    "pass_role_needs",
    "ram_needs",
    "request_context",
    "schedule_need",
    "sts_needs",
    "task_need",
]

Context = Mapping[str, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class Need:
    """One permission a request needs: ``action`` (``fnf:StartExecution``) on ``resource`` (an ARN or ``*``)."""

    action: str
    resource: str


Needs = Sequence[Need]


@dataclass(frozen=True, slots=True)
class Where:
    """What resource names are built from: the server's region and account, and the task-token signer
    (a task report's resource is the execution its token names)."""

    region: str
    account: str
    signer: TaskTokenSigner

    @classmethod
    def of(cls, authorizer: Authorizer) -> Where:
        """The names of the server ``authorizer`` answers for."""
        return cls(authorizer.region, authorizer.account_id, authorizer.keyring.task_tokens)


def authorize(authorizer: Authorizer, principal: Principal, needs: Needs, context: Context) -> None:
    """Check every need; raise :class:`~tidegate.ram.AccessDenied` at the first one denied (logged once)."""
    for need in needs:
        authorizer.check(principal, need.action, need.resource, context)


_last_second: tuple[int, str] = (-1, "")


def _second(seconds: int) -> str:
    """``YYYY-MM-DDThh:mm:ss`` of an epoch second (formatted once per second: every RPC call asks)."""
    global _last_second
    cached = _last_second
    if cached[0] == seconds:
        return cached[1]
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    _last_second = (seconds, text)
    return text


def request_context(scope: Scope, now_ms: int) -> Mapping[str, tuple[str, ...]]:
    """The condition keys of one HTTP request (docs/auth.md, Conditions).

    ``acs:SourceIp`` is the socket peer (the server has no trusted-proxy setting, so a forwarded-for header
    is never believed), ``acs:SecureTransport`` whether the request came over TLS, ``acs:CurrentTime`` the
    server's time (ISO 8601 UTC), ``acs:UserAgent`` the client's header, ``acs:MFAPresent`` always false.
    """
    client = scope.get("client")
    secure = scope.get("scheme") in ("https", "wss")
    seconds, millis = divmod(now_ms, 1000)
    current = f"{_second(seconds)}.{millis:03d}Z"
    context: dict[str, tuple[str, ...]] = {
        "acs:SecureTransport": ("true" if secure else "false",),
        "acs:CurrentTime": (current,),
        "acs:MFAPresent": ("false",),
    }
    if client:
        context["acs:SourceIp"] = (str(client[0]),)
    for name, value in scope.get("headers", ()):
        if name == b"user-agent":
            context["acs:UserAgent"] = (value.decode("latin-1"),)
            break
    return context


# --- need builders shared by every protocol ------------------------------------------------------------------


def flow_need(w: Where, action: str, flow: str) -> Need:
    """``fnf:<action>`` on a flow (``*``: every flow, as ListFlows)."""
    return Need(f"fnf:{action}", arns.fnf_flow(w.region, w.account, flow))


def execution_need(w: Where, action: str, flow: str, execution: str | None = None) -> Need:
    """``fnf:<action>`` on an execution (``*`` when the request names none: a listing, a generated name)."""
    return Need(f"fnf:{action}", arns.fnf_execution(w.region, w.account, flow, execution or "*"))


def schedule_need(w: Where, action: str, flow: str, schedule: str | None = None) -> Need:
    """``fnf:<action>`` on a schedule (``*`` for a listing)."""
    return Need(f"fnf:{action}", arns.fnf_schedule(w.region, w.account, flow, schedule or "*"))


def pass_role_needs(w: Where, role_arn: str | None) -> list[Need]:
    """Setting a flow's role (a non-empty RoleArn) also needs ``ram:PassRole`` on that role."""
    if not role_arn:
        return []
    parsed = arns.parse_role_arn(role_arn)
    return [Need("ram:PassRole", parsed.arn if parsed is not None else role_arn)]


def task_need(w: Where, action: str, token: str | None) -> Need:
    """A task report: ``fnf:<action>`` on the execution its token names.

    Raises:
        InvalidTaskToken: a forged or garbled token (what the action itself would answer).
        MissingRequiredParams: no token (likewise).
    """
    claims = w.signer.claims(token or "")
    return execution_need(w, action, claims.flow_name, claims.execution_name)


# --- Serverless Workflow RPC -----------------------------------------------------------------------------------

RpcNeeds = Callable[[Where, Params], Needs]


def _flow(action: str, name: str = "FlowName") -> RpcNeeds:
    return lambda w, p: [flow_need(w, action, p.text(name))]


def _flow_role(action: str) -> RpcNeeds:
    return lambda w, p: [flow_need(w, action, p.text("Name")), *pass_role_needs(w, p.opt("RoleArn"))]


def _execution(action: str) -> RpcNeeds:
    return lambda w, p: [execution_need(w, action, p.text("FlowName"), p.opt("ExecutionName"))]


def _schedule(action: str) -> RpcNeeds:
    return lambda w, p: [schedule_need(w, action, p.text("FlowName"), p.opt("ScheduleName"))]


def _task(action: str) -> RpcNeeds:
    return lambda w, p: [task_need(w, action, p.req("TaskToken"))]


#: Every Serverless Workflow RPC action and what it needs (tests/api/test_permissions.py holds it to
#: :data:`tidegate.api.fnf_actions.ACTIONS`).
FNF_RPC: Mapping[str, RpcNeeds] = {
    "CreateFlow": _flow_role("CreateFlow"),
    "UpdateFlow": _flow_role("UpdateFlow"),
    "DeleteFlow": _flow("DeleteFlow", "Name"),
    "DescribeFlow": _flow("DescribeFlow", "Name"),
    "ListFlows": lambda w, p: [flow_need(w, "ListFlows", "*")],
    "StartExecution": _execution("StartExecution"),
    "StopExecution": _execution("StopExecution"),
    "DescribeExecution": _execution("DescribeExecution"),
    "ListExecutions": lambda w, p: [execution_need(w, "ListExecutions", p.text("FlowName"))],
    "GetExecutionHistory": _execution("GetExecutionHistory"),
    "ReportTaskSucceeded": _task("ReportTaskSucceeded"),
    "ReportTaskFailed": _task("ReportTaskFailed"),
    "ReportTaskHeartbeat": _task("ReportTaskHeartbeat"),
    "CreateSchedule": _schedule("CreateSchedule"),
    "UpdateSchedule": _schedule("UpdateSchedule"),
    "DeleteSchedule": _schedule("DeleteSchedule"),
    "DescribeSchedule": _schedule("DescribeSchedule"),
    "ListSchedules": lambda w, p: [schedule_need(w, "ListSchedules", p.text("FlowName"))],
}


# --- RAM (2015-05-01) and STS (2015-04-01) ---------------------------------------------------------------------


def ram_needs(w: Where, action: str, p: Params) -> Needs:
    """``ram:<action>`` on the RAM entity the request names: the role, group or user it acts on (in that
    order: ``AttachPolicyToUser`` is on the user, ``AddUserToGroup`` on the group), else the policy, else
    ``*`` (listings and account-wide actions)."""
    if role := p.opt("RoleName"):
        resource = arns.ram_role(w.account, role)
    elif group := p.opt("GroupName"):
        resource = arns.ram_group(w.account, group)
    elif user := p.opt("UserName"):
        resource = arns.ram_user(w.account, user)
    elif policy := p.opt("PolicyName"):
        owner = "system" if (p.opt("PolicyType") or "").lower() == "system" else w.account
        resource = arns.ram_policy(owner, policy)
    else:
        resource = "*"
    return [Need(f"ram:{action}", resource)]


#: STS actions any authenticated identity may call (STS: "no permission is required").
STS_OPEN = frozenset({"GetCallerIdentity"})


def sts_needs(w: Where, action: str, p: Params) -> Needs:
    """``sts:AssumeRole`` on the role ARN it names; GetCallerIdentity needs nothing; others on ``*``."""
    if action in STS_OPEN:
        return []
    if action == "AssumeRole":
        given = p.text("RoleArn")
        parsed = arns.parse_role_arn(given)
        return [Need("sts:AssumeRole", parsed.arn if parsed is not None else given)]
    return [Need(f"sts:{action}", "*")]


_PRODUCTS: Mapping[str, Callable[[Where, str, Params], Needs]] = {"ram": ram_needs, "sts": sts_needs}


def rpc_needs(w: Where, product: str, action: str, params: Params) -> Needs:
    """What one RPC call needs (``product`` is the RAM code: ``fnf``, ``ram``, ``sts``).

    An RPC product without an entry here needs ``<product>:<action>`` on ``*``.
    """
    if product == "fnf":
        return FNF_RPC[action](w, params)
    by_product = _PRODUCTS.get(product)
    if by_product is None:
        return [Need(f"{product}:{action}", "*")]
    return by_product(w, action, params)


def authorize_rpc(
    authorizer: Authorizer,
    principal: Principal,
    product: str,
    action: str,
    params: Params,
    context: Mapping[str, tuple[str, ...]],
) -> None:
    """Check one RPC call (``product`` is the RAM code: ``fnf``, ``ram``, ``sts``); raise AccessDenied."""
    if principal.is_root:
        return  # the account itself: nothing to build or look up
    authorize(authorizer, principal, rpc_needs(Where.of(authorizer), product, action, params), context)
