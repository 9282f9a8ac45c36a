"""The resource names (ARNs) that requests are authorized against, one builder per kind (docs/auth.md).

The shapes are those the services' RAM authorization tables document:

* Serverless Workflow: a flow is ``acs:fnf:REGION:ACCOUNT:flow/NAME`` (CreateFlow's table, and what a task
  step names a child flow by); its executions ``…:flows/FLOW/executions/NAME`` (CloudFlow's execution-role
  guide: ``fnf:StartExecution`` on ``acs:fnf:::flows/Test1/executions/*``) and, by the same pattern, its
  schedules ``…:flows/FLOW/schedules/NAME``.
* MNS: ``acs:mns:REGION:ACCOUNT:/queues``, ``/queues/Q``, ``/queues/Q/messages``, ``/topics``,
  ``/topics/T``, ``/topics/T/messages``, ``/topics/T/subscriptions``, ``/topics/T/subscriptions/S``.
* Function Compute: ``acs:fc:REGION:ACCOUNT:services/S``, ``…/functions/F``, ``…/functions/F/triggers/T``.
* RAM (no region): ``acs:ram::ACCOUNT:user/U``, ``role/R``, ``policy/P``, ``group/G``; a role's ARN is the
  one ``sts:AssumeRole`` and ``ram:PassRole`` are checked on.

A name is put in as given: a ``*`` or ``?`` in a request's name is a literal character of the resource,
never a wildcard (only a policy's patterns have wildcards).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "RoleArn",
    "fc_function",
    "fc_functions",
    "fc_service",
    "fc_trigger",
    "fnf_execution",
    "fnf_flow",
    "fnf_schedule",
    "mns_queue",
    "mns_queue_messages",
    "mns_queues",
    "mns_subscription",
    "mns_subscriptions",
    "mns_topic",
    "mns_topic_messages",
    "mns_topics",
    "parse_role_arn",
    "ram_group",
    "ram_policy",
    "ram_role",
    "ram_user",
]


# --- Serverless Workflow -----------------------------------------------------------------------------------


def fnf_flow(region: str, account: str, flow: str) -> str:
    """A flow (``flow/*`` for ListFlows and CreateFlow's collection)."""
    return f"acs:fnf:{region}:{account}:flow/{flow}"


def fnf_execution(region: str, account: str, flow: str, execution: str) -> str:
    """An execution of a flow (``*`` for all of them)."""
    return f"acs:fnf:{region}:{account}:flows/{flow}/executions/{execution}"


def fnf_schedule(region: str, account: str, flow: str, schedule: str) -> str:
    """A schedule of a flow (``*`` for all of them)."""
    return f"acs:fnf:{region}:{account}:flows/{flow}/schedules/{schedule}"


# --- MNS -----------------------------------------------------------------------------------------------------


def mns_queues(region: str, account: str) -> str:
    """The account's queues (ListQueue)."""
    return f"acs:mns:{region}:{account}:/queues"


def mns_queue(region: str, account: str, queue: str) -> str:
    """A queue (create, delete, attributes)."""
    return f"acs:mns:{region}:{account}:/queues/{queue}"


def mns_queue_messages(region: str, account: str, queue: str) -> str:
    """A queue's messages (send, receive, peek, delete, change visibility)."""
    return f"acs:mns:{region}:{account}:/queues/{queue}/messages"


def mns_topics(region: str, account: str) -> str:
    """The account's topics (ListTopic)."""
    return f"acs:mns:{region}:{account}:/topics"


def mns_topic(region: str, account: str, topic: str) -> str:
    """A topic (create, delete, attributes)."""
    return f"acs:mns:{region}:{account}:/topics/{topic}"


def mns_topic_messages(region: str, account: str, topic: str) -> str:
    """A topic's messages (PublishMessage)."""
    return f"acs:mns:{region}:{account}:/topics/{topic}/messages"


def mns_subscriptions(region: str, account: str, topic: str) -> str:
    """A topic's subscriptions (ListSubscriptionByTopic)."""
    return f"acs:mns:{region}:{account}:/topics/{topic}/subscriptions"


def mns_subscription(region: str, account: str, topic: str, subscription: str) -> str:
    """One subscription (Subscribe, Unsubscribe, attributes)."""
    return f"acs:mns:{region}:{account}:/topics/{topic}/subscriptions/{subscription}"


# --- Function Compute ----------------------------------------------------------------------------------------


def fc_service(region: str, account: str, service: str) -> str:
    """A service (``*`` for all of them)."""
    return f"acs:fc:{region}:{account}:services/{service}"


def fc_functions(region: str, account: str, service: str) -> str:
    """A service's functions (ListFunctions)."""
    return f"acs:fc:{region}:{account}:services/{service}/functions/*"


def fc_function(region: str, account: str, service: str, function: str) -> str:
    """A function."""
    return f"acs:fc:{region}:{account}:services/{service}/functions/{function}"


def fc_trigger(region: str, account: str, service: str, function: str, trigger: str) -> str:
    """A trigger of a function."""
    return f"acs:fc:{region}:{account}:services/{service}/functions/{function}/triggers/{trigger}"


# --- RAM -----------------------------------------------------------------------------------------------------


def ram_user(account: str, user: str) -> str:
    """A RAM user (``*`` for all of them)."""
    return f"acs:ram::{account}:user/{user}"


def ram_group(account: str, group: str) -> str:
    """A RAM group."""
    return f"acs:ram::{account}:group/{group}"


def ram_policy(account: str, policy: str) -> str:
    """A custom policy (system policies are ``acs:ram::system:policy/NAME``: pass ``"system"``)."""
    return f"acs:ram::{account}:policy/{policy}"


def ram_role(account: str, role: str) -> str:
    """A RAM role: its ARN, as ``RoleArn`` parameters name it."""
    return f"acs:ram::{account}:role/{role}"


@dataclass(frozen=True, slots=True)
class RoleArn:
    """A parsed role ARN."""

    account: str
    role: str

    @property
    def arn(self) -> str:
        """The canonical form (``acs:ram::ACCOUNT:role/NAME``)."""
        return ram_role(self.account, self.role)


_ROLE_ARN = re.compile(r"acs:ram:[^:]*:([^:/]+):role/([^/]+)", re.IGNORECASE)


def parse_role_arn(text: str) -> RoleArn | None:
    """The account and role name of a role ARN (``acs:ram::ACCOUNT:role/NAME``; the region part may be set
    or empty, ``role`` any case as RAM prints it), or None when ``text`` is no role ARN."""
    match = _ROLE_ARN.fullmatch(text.strip()) if len(text) <= 1024 else None
    if match is None:
        return None
    return RoleArn(account=match.group(1), role=match.group(2))
