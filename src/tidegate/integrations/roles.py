"""Task steps act as their flow's execution role: the check every integration makes before it acts.

A flow's ``RoleArn`` names its execution role; a flow without one runs as the default execution role
(:data:`tidegate.ram.service_roles.DEFAULT_EXECUTION_ROLE`). Before a task sends a message, invokes a
function or starts a child flow, the integration asks :meth:`TaskRoles.denial` whether the role may do
that action on that resource. A denial fails the task with the integration's ``<Prefix>.AccessDenied``
error (retry and catch see it) and a cause naming the role, the action and the resource.

Hot path: each flow's RoleArn is cached for :attr:`TaskRoles.ttl_s` (one second; a change through this
server is seen at once), the role and its policies are the authorizer's cached lookups, so a task adds
no store query once its flow and role have been seen.
"""

from __future__ import annotations

import threading
import time

from tidegate.auth.policy import Decision
from tidegate.ram import Authorizer
from tidegate.ram.authorizer import denial_message
from tidegate.ram.service_roles import DEFAULT_EXECUTION_ROLE, FNF_SERVICE, RoleNotUsable, service_principal
from tidegate.store import FlowNotFound, Store

__all__ = ["ACCESS_DENIED", "TaskRoles"]

#: The suffix of the error a denied task fails with (``MNS.AccessDenied``, ``FC.AccessDenied``, ``FnF.…``).
ACCESS_DENIED = "AccessDenied"
_SESSION_MAX = 64
_CACHE_MAX = 10_000


class TaskRoles:
    """Decides what the execution roles of flows may do (thread-safe).

    Args:
        store: the store holding the flows.
        authorizer: the server's authorizer (roles, their policies, and its region and account).
    """

    #: How long (seconds) a flow's RoleArn is reused without reading the flow again.
    ttl_s = 1.0

    def __init__(self, store: Store, authorizer: Authorizer) -> None:
        self.store = store
        self.authorizer = authorizer
        self.region = authorizer.region
        self.account_id = authorizer.account_id
        self.default_role_arn = f"acs:ram::{authorizer.account_id}:role/{DEFAULT_EXECUTION_ROLE}"
        self._lock = threading.Lock()
        self._flows: dict[str, tuple[str, float]] = {}

    def forget(self, flow: str) -> None:
        """Read ``flow``'s RoleArn again next time (it was created, changed or deleted)."""
        with self._lock:
            self._flows.pop(flow, None)

    def role_arn(self, flow: str) -> str:
        """The execution role of ``flow``: its RoleArn, or the default execution role's ARN."""
        now = time.monotonic()
        cached = self._flows.get(flow)
        if cached is not None and cached[1] > now:
            return cached[0]
        try:
            arn = self.store.get_flow(flow).role_arn or self.default_role_arn
        except FlowNotFound:  # deleted while its executions end: the default role
            arn = self.default_role_arn
        with self._lock:
            if len(self._flows) >= _CACHE_MAX:
                self._flows.clear()
            self._flows[flow] = (arn, now + self.ttl_s)
        return arn

    def denial(self, flow: str, execution: str, action: str, resource: str) -> str | None:
        """None when ``flow``'s execution role may do ``action`` on ``resource``; else the cause of the denial."""
        arn = self.role_arn(flow)
        try:
            principal = service_principal(self.authorizer, arn, FNF_SERVICE, execution[:_SESSION_MAX])
        except RoleNotUsable as exc:
            return f"The execution role of flow {flow} cannot be used: {exc.message}"
        if self.authorizer.decide(principal, action, resource) is Decision.ALLOW:
            return None
        return f"The execution role {arn} of flow {flow} may not {action}. {denial_message(action, resource)}"
