"""Apply or remove a deploy file against a running server, over its public APIs.

Functions, flows and schedules go through the REST API (``/api/v1``), queues, topics and subscriptions
through the MNS protocol (:class:`~tidegate.mq.client.MnsClient`), the ``ram:`` section's policies and roles
through the RAM API (:mod:`tidegate.deploy.ram_apply`): the same calls any client could make,
so ``tidegate deploy`` works against a remote server and ``tidegate server --deploy`` runs this very code.
Each resource is compared with what the server has and only what changed is written; every step is
reported as ``(kind, name, outcome)`` with outcome ``created``, ``updated``, ``unchanged`` or ``deleted``
/ ``absent`` (destroy).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from tidegate.deploy.ram_apply import RamDeployer
from tidegate.deploy.spec import (
    DeployFile,
    EndpointRef,
    FlowDecl,
    QueueDecl,
    ServiceDecl,
    SubscriptionDecl,
    TopicDecl,
)
from tidegate.errors import TidegateError
from tidegate.mq.client import MnsClient, MnsClientError, fields, seg
from tidegate.mq.wire import (
    QueueAttributes,
    SubscriptionAttributes,
    TopicAttributes,
    encode_queue_attributes,
    encode_subscription,
    encode_topic_attributes,
)
from tidegate.ram.client import RamClient

__all__ = ["DeployError", "Deployer", "Step"]

# What GetQueueAttributes / GetTopicAttributes call the attributes a deploy file may set.
_WIRE_NAMES = {
    "visibility_timeout": "VisibilityTimeout",
    "maximum_message_size": "MaximumMessageSize",
    "message_retention_period": "MessageRetentionPeriod",
    "delay_seconds": "DelaySeconds",
    "polling_wait_seconds": "PollingWaitSeconds",
    "logging_enabled": "LoggingEnabled",
}
_SUBSCRIPTION_DEFAULTS = {"NotifyStrategy": "BACKOFF_RETRY", "NotifyContentFormat": "XML"}


class DeployError(TidegateError):
    """The server refused a deploy step."""

    code = "DeployFailed"


@dataclass(frozen=True, slots=True)
class Step:
    """One resource the deploy touched."""

    kind: str
    name: str
    outcome: str

    def __str__(self) -> str:
        return f"{self.outcome:<9} {self.kind} {self.name}"


class Deployer:
    """Talks to one server with one AccessKey.

    Args:
        endpoint: The server's URL (``http://127.0.0.1:8787``).
        access_key_id: An AccessKey ID the server accepts.
        access_key_secret: Its secret.
        report: Called with each :class:`Step` as it completes (printing, logging).
        timeout: Seconds per request; function deploys that install requirements can take minutes.
    """

    def __init__(
        self,
        endpoint: str,
        access_key_id: str,
        access_key_secret: str,
        report: Callable[[Step], None] | None = None,
        timeout: float = 900.0,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.rest = httpx.Client(
            base_url=self.endpoint + "/api/v1", auth=(access_key_id, access_key_secret), timeout=timeout
        )
        self.mns = MnsClient(self.endpoint, access_key_id, access_key_secret, timeout=60.0)
        self.ram = RamClient(self.endpoint, access_key_id, access_key_secret, timeout=60.0)
        self.report = report or (lambda step: None)
        self._identity: dict[str, Any] | None = None

    def close(self) -> None:
        """Close the connections."""
        self.rest.close()
        self.mns.close()
        self.ram.close()

    def __enter__(self) -> Deployer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- plumbing ----------------------------------------------------------------------------------

    def _call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> tuple[int, Any]:
        resp = self.rest.request(method, path, json=body)
        if resp.status_code >= 400 and resp.status_code != 404:
            try:
                err = resp.json()
                message = f"{err.get('code')}: {err.get('message')}"
            except ValueError:
                message = resp.text[:300]
            raise DeployError(f"{method} {path} failed ({resp.status_code}) {message}")
        return resp.status_code, (resp.json() if resp.content else None)

    def _ram(self, steps: list[Step]) -> RamDeployer:
        """A deployer of the ``ram:`` section that adds its steps to ``steps``."""
        return RamDeployer(
            self.ram, lambda kind, name, outcome: steps.append(self._step(kind, name, outcome)), DeployError
        )

    def _step(self, kind: str, name: str, outcome: str) -> Step:
        step = Step(kind, name, outcome)
        self.report(step)
        return step

    def identity(self) -> dict[str, Any]:
        """The server's region, account id and public endpoint (cached)."""
        if self._identity is None:
            status, doc = self._call("GET", "/identity")
            if status == 404:
                raise DeployError("the server has no /api/v1/identity: it is too old for `tidegate deploy`")
            self._identity = dict(doc)
        return self._identity

    def endpoint_of(self, ref: EndpointRef) -> str:
        """The concrete subscription endpoint of a declared one."""
        if ref.url is not None:
            return ref.url
        ident = self.identity()
        if ref.function is not None:
            service, name = ref.function
            return f"{ident['endpoint']}/2016-08-15/proxy/{service}/{name}/"
        return f"acs:mns:{ident['region']}:{ident['account_id']}:queues/{ref.queue}"

    def _mns_get(self, path: str) -> dict[str, str] | None:
        try:
            return fields(self.mns.request("GET", path).xml())
        except MnsClientError as exc:
            if exc.status == 404:
                return None
            raise DeployError(f"GET {path}: {exc.message}") from None

    def _mns(self, method: str, path: str, query: str = "", body: bytes = b"") -> None:
        try:
            self.mns.request(method, path, query=query, body=body)
        except MnsClientError as exc:
            raise DeployError(f"{method} {path}: {exc.message}") from None

    # --- deploy ---------------------------------------------------------------------------------------

    def deploy(self, plan: DeployFile) -> list[Step]:
        """Create or update everything ``plan`` declares (RAM policies and roles, functions, queues, topics,
        flows, schedules).

        Raises:
            DeployError: the server refused a step (steps before it stay applied).
        """
        steps: list[Step] = []
        self._ram(steps).deploy(plan.ram)
        for sv in plan.services:
            steps.append(self._service(sv))
        for fn in plan.functions:
            _, doc = self._call("PUT", f"/functions/{fn.service}/{fn.name}", fn.body)
            steps.append(self._step("function", f"{fn.service}/{fn.name}", doc["result"]))
        for q in plan.queues:
            steps.append(self._queue(q))
        for t in plan.topics:
            steps.extend(self._topic(t))
        for f in plan.flows:
            steps.extend(self._flow(f))
        return steps

    def role_arn(self, role: str) -> str:
        """A role's ARN: ``role`` itself when it is one (``acs:…``), else the role of that name in the account."""
        if not role or role.startswith("acs:"):
            return role
        return f"acs:ram::{self.identity()['account_id']}:role/{role}"

    def _service(self, sv: ServiceDecl) -> Step:
        body = {"role": self.role_arn(sv.role), "description": sv.description}
        status, doc = self._call("PUT", f"/services/{sv.name}", body)
        if status == 404:
            raise DeployError("the server has no /api/v1/services: it is too old for a deploy file's services")
        return self._step("service", sv.name, doc["result"])

    @staticmethod
    def _differs(current: Mapping[str, str], wanted: Mapping[str, int | bool]) -> bool:
        for key, value in wanted.items():
            text = str(value).lower() if isinstance(value, bool) else str(value)
            if current.get(_WIRE_NAMES[key], "").lower() != text.lower():
                return True
        return False

    def _queue(self, q: QueueDecl) -> Step:
        path = f"/queues/{seg(q.name)}"
        body = encode_queue_attributes(QueueAttributes(**q.attributes))  # type: ignore[arg-type]
        current = self._mns_get(path)
        if current is None:
            self._mns("PUT", path, body=body)
            return self._step("queue", q.name, "created")
        if self._differs(current, q.attributes):
            self._mns("PUT", path, query="metaoverride=true", body=body)
            return self._step("queue", q.name, "updated")
        return self._step("queue", q.name, "unchanged")

    def _topic(self, t: TopicDecl) -> list[Step]:
        path = f"/topics/{seg(t.name)}"
        body = encode_topic_attributes(TopicAttributes(**t.attributes))  # type: ignore[arg-type]
        current = self._mns_get(path)
        if current is None:
            self._mns("PUT", path, body=body)
            steps = [self._step("topic", t.name, "created")]
        elif self._differs(current, t.attributes):
            self._mns("PUT", path, query="metaoverride=true", body=body)
            steps = [self._step("topic", t.name, "updated")]
        else:
            steps = [self._step("topic", t.name, "unchanged")]
        return steps + [self._subscription(t.name, s) for s in t.subscriptions]

    def _subscription(self, topic: str, s: SubscriptionDecl) -> Step:
        path = f"/topics/{seg(topic)}/subscriptions/{seg(s.name)}"
        wanted = {
            "Endpoint": self.endpoint_of(s.endpoint),
            "NotifyStrategy": s.notify_strategy or _SUBSCRIPTION_DEFAULTS["NotifyStrategy"],
            "NotifyContentFormat": s.notify_content_format or _SUBSCRIPTION_DEFAULTS["NotifyContentFormat"],
            "FilterTag": s.filter_tag or "",
        }
        body = encode_subscription(
            SubscriptionAttributes(
                endpoint=wanted["Endpoint"],
                notify_strategy=wanted["NotifyStrategy"],
                notify_content_format=wanted["NotifyContentFormat"],
                filter_tag=s.filter_tag,
            )
        )
        name = f"{topic}/{s.name}"
        current = self._mns_get(path)
        if current is None:
            self._mns("PUT", path, body=body)
            return self._step("subscription", name, "created")
        if all(current.get(k, "") == v for k, v in wanted.items()):
            return self._step("subscription", name, "unchanged")
        fixed = ("Endpoint", "NotifyContentFormat", "FilterTag")
        if all(current.get(k, "") == wanted[k] for k in fixed):
            # Only the strategy can be changed in place (SetSubscriptionAttributes).
            strategy = encode_subscription(SubscriptionAttributes(notify_strategy=wanted["NotifyStrategy"]))
            self._mns("PUT", path, query="metaoverride=true", body=strategy)
        else:
            self._mns("DELETE", path)
            self._mns("PUT", path, body=body)
        return self._step("subscription", name, "updated")

    def _flow(self, f: FlowDecl) -> list[Step]:
        status, current = self._call("GET", f"/flows/{f.name}")
        role_arn = f.role_arn or self.role_arn(f.role)
        wanted = {"definition": f.definition, "description": f.description, "role_arn": role_arn}
        if status == 404:
            self._call("POST", "/flows", {"name": f.name, **wanted})
            steps = [self._step("flow", f.name, "created")]
        elif any(current.get(k) != v for k, v in wanted.items()):
            self._call("PATCH", f"/flows/{f.name}", wanted)
            steps = [self._step("flow", f.name, "updated")]
        else:
            steps = [self._step("flow", f.name, "unchanged")]
        for s in f.schedules:
            name = f"{f.name}/{s.name}"
            status, cur = self._call("GET", f"/flows/{f.name}/schedules/{s.name}")
            body: dict[str, Any] = {"cron": s.cron, "enable": s.enable, "description": s.description}
            if s.payload is not None:
                body["payload"] = dict(s.payload)
            if status == 404:
                self._call("POST", f"/flows/{f.name}/schedules", {"name": s.name, **body})
                steps.append(self._step("schedule", name, "created"))
            elif any(_norm_json(cur.get(k)) != _norm_json(v) for k, v in body.items()):
                self._call("PATCH", f"/flows/{f.name}/schedules/{s.name}", body)
                steps.append(self._step("schedule", name, "updated"))
            else:
                steps.append(self._step("schedule", name, "unchanged"))
        return steps

    # --- destroy --------------------------------------------------------------------------------------

    def destroy(self, plan: DeployFile) -> list[Step]:
        """Delete everything ``plan`` declares (in reverse order of deploying); missing ones are ``absent``.

        Raises:
            DeployError: the server refused a step.
        """
        steps: list[Step] = []
        for f in plan.flows:
            for s in f.schedules:
                status, _ = self._call("DELETE", f"/flows/{f.name}/schedules/{s.name}")
                steps.append(self._step("schedule", f"{f.name}/{s.name}", "absent" if status == 404 else "deleted"))
            status, _ = self._call("DELETE", f"/flows/{f.name}")
            steps.append(self._step("flow", f.name, "absent" if status == 404 else "deleted"))
        for t in plan.topics:
            path = f"/topics/{seg(t.name)}"
            for sd in t.subscriptions:
                sub = f"{path}/subscriptions/{seg(sd.name)}"
                outcome = "absent" if self._mns_get(sub) is None else "deleted"
                self._mns("DELETE", sub)
                steps.append(self._step("subscription", f"{t.name}/{sd.name}", outcome))
            outcome = "absent" if self._mns_get(path) is None else "deleted"
            self._mns("DELETE", path)
            steps.append(self._step("topic", t.name, outcome))
        for q in plan.queues:
            path = f"/queues/{seg(q.name)}"
            outcome = "absent" if self._mns_get(path) is None else "deleted"
            self._mns("DELETE", path)
            steps.append(self._step("queue", q.name, outcome))
        for fn in plan.functions:
            status, _ = self._call("DELETE", f"/functions/{fn.service}/{fn.name}")
            steps.append(self._step("function", f"{fn.service}/{fn.name}", "absent" if status == 404 else "deleted"))
        for sv in plan.services:
            status, _ = self._call("DELETE", f"/services/{sv.name}")
            steps.append(self._step("service", sv.name, "absent" if status == 404 else "deleted"))
        self._ram(steps).destroy(plan.ram)
        return steps


def _norm_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
