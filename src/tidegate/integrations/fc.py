"""Function Compute tasks on local Python functions (``acs:fc:::services/S[.Q]/functions/F``).

requestResponse (default) invokes synchronously and the handler's result becomes ``$local``;
waitForCallback invokes and then waits for the token to be reported (the result is discarded).
``serviceParams.InvocationType: Async`` with requestResponse gives ``$local = {}`` (the flow does not see the
result, as with Function Compute's async submit); tidegate runs the invocation before the step goes on.

Every invocation reports what Function Compute's log tail would show: the history event that ends the
attempt (``TaskSucceeded``, ``TaskFailed``, or ``TaskSubmitted`` for waitForCallback) carries
``requestId``, ``logTail`` (the last 4 KiB of the output), ``logBytes`` (the whole output's size) and,
on failure, ``stackTrace`` -- in the event's detail only, never in the step data.

The invocation acts as the flow's execution role (:mod:`tidegate.integrations.roles`): ``fc:InvokeFunction``
on ``acs:fc:REGION:ACCOUNT:services/S/functions/F``; a role that may not fails the task with
``FC.AccessDenied``. The function itself gets its service's credentials (``credentials``), not the flow's.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tidegate.flow.model import Pattern
from tidegate.functions import (
    Credentials,
    FunctionRunner,
    FunctionSpec,
    InvocationContext,
    InvocationResult,
    log_tail,
    resolve_local_function,
)
from tidegate.integrations.base import Outcome, TaskJob, failed, submitted, succeeded
from tidegate.integrations.roles import ACCESS_DENIED, TaskRoles
from tidegate.jsontext import compact
from tidegate.ram import arns
from tidegate.ram.service_roles import RoleNotUsable

INVALID_LOCAL = "FnF.InvalidLocal"
#: The longest error name and cause a failed invocation hands to the flow (those ReportTaskFailed accepts).
MAX_ERROR, MAX_CAUSE = 128, 4096

SpecResolver = Callable[[str, str, str], FunctionSpec | None]
"""``(service, qualifier, function) -> spec`` or None when there is no such function."""

CredentialSource = Callable[[str, str], Credentials]
"""``(service, request_id) -> credentials`` of one invocation: the service role's session, or empty
credentials for a service without a role; raises :class:`~tidegate.ram.service_roles.RoleNotUsable` when
the service's role cannot be assumed."""


def no_credentials(service: str, request_id: str) -> Credentials:
    """A :data:`CredentialSource` for functions without roles: empty credentials, as Function Compute gives."""
    return Credentials()


def directory_resolver(functions_dir: Path) -> SpecResolver:
    """Resolve functions as ``functions_dir/SERVICE/FUNCTION.py`` with a ``handler`` attribute."""

    def resolve(service: str, qualifier: str, function: str) -> FunctionSpec | None:
        if not (functions_dir / service / f"{function}.py").is_file():
            return None
        return resolve_local_function(functions_dir, service, function)

    return resolve


class FunctionIntegration:
    """Invokes task functions in the worker processes of a :class:`FunctionRunner`."""

    def __init__(
        self,
        runner: FunctionRunner,
        resolve: SpecResolver,
        *,
        region: str,
        account_id: str,
        credentials: CredentialSource = no_credentials,
        roles: TaskRoles | None = None,
    ) -> None:
        self.runner = runner
        self.resolve = resolve
        self.region = region
        self.account_id = account_id
        self.credentials = credentials
        self.roles = roles

    def run(self, job: TaskJob) -> Outcome:
        cmd = job.command
        r = cmd.resource
        if self.roles is not None:
            resource = arns.fc_function(self.region, self.account_id, r.service, r.name)
            denied = self.roles.denial(job.flow_name, job.execution_name, "fc:InvokeFunction", resource)
            if denied is not None:
                return failed(job, f"FC.{ACCESS_DENIED}", denied)
        spec = self.resolve(r.service, r.qualifier, r.name)
        if spec is None:
            return failed(job, "FC.FunctionNotFound", f"function {r.service}/{r.name} does not exist")
        request_id = str(uuid.uuid4())
        try:
            credentials = self.credentials(r.service, request_id)
        except RoleNotUsable as exc:
            return failed(job, f"FC.{ACCESS_DENIED}", f"the role of service {r.service} cannot be used: {exc.message}")
        ctx = InvocationContext(
            request_id=request_id,
            region=self.region,
            account_id=self.account_id,
            credentials=credentials,
            qualifier=r.qualifier or "LATEST",
        )
        event = compact(cmd.input).encode("utf-8")
        result = self.runner.invoke(spec, event, ctx)
        detail = invocation_detail(ctx.request_id, result)
        if not result.ok:
            error = _text(result.error_type or "FC.Unknown", MAX_ERROR)
            return failed(job, error, _text(result.error_message or "", MAX_CAUSE), detail)
        if cmd.pattern == Pattern.WAIT_FOR_CALLBACK:
            return submitted(detail)
        if str(cmd.params.get("InvocationType", "")).lower() == "async" and cmd.pattern == Pattern.REQUEST_RESPONSE:
            return succeeded(job, {}, detail)
        return _result(job, result.payload, detail)


def invocation_detail(request_id: str, result: InvocationResult) -> dict[str, Any]:
    """The history-event fields of one invocation: request id, log tail and size, and the stack of a failure."""
    detail: dict[str, Any] = {
        "requestId": request_id,
        "logTail": log_tail(result.logs),
        "logBytes": result.log_bytes,
    }
    if not result.ok:
        detail["stackTrace"] = [_text(entry, len(entry)) for entry in result.stack]
    return detail


def _text(text: str, limit: int) -> str:
    """``text`` shortened to ``limit`` characters and storable (a lone surrogate of an exception becomes ``?``)."""
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.encode("utf-8", "replace").decode("utf-8")


def _result(job: TaskJob, payload: bytes, detail: dict[str, Any]) -> Outcome:
    if not payload.strip():
        cause = "the function returned nothing; a task result must be a JSON object"
        return failed(job, INVALID_LOCAL, cause, detail)
    try:
        value: Any = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return failed(job, INVALID_LOCAL, f"the function result is not JSON: {payload[:200]!r}", detail)
    return succeeded(job, value, detail)
