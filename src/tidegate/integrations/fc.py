"""Function Compute tasks on local Python functions (``acs:fc:::services/S[.Q]/functions/F``).

requestResponse (default) invokes synchronously and the handler's result becomes ``$local``;
waitForCallback invokes and then waits for the token to be reported (the result is discarded).
``serviceParams.InvocationType: Async`` with requestResponse gives ``$local = {}`` (the flow does not see the
result, as with Function Compute's async submit); tidegate runs the invocation before the step goes on.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tidegate.flow.model import Pattern
from tidegate.functions import (
    Credentials,
    FunctionRunner,
    FunctionSpec,
    InvocationContext,
    resolve_local_function,
)
from tidegate.integrations.base import Outcome, TaskJob, failed, succeeded
from tidegate.jsontext import compact

INVALID_LOCAL = "FnF.InvalidLocal"

SpecResolver = Callable[[str, str, str], FunctionSpec | None]
"""``(service, qualifier, function) -> spec`` or None when there is no such function."""


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
        credentials: Callable[[], Credentials] = Credentials,
    ) -> None:
        self.runner = runner
        self.resolve = resolve
        self.region = region
        self.account_id = account_id
        self.credentials = credentials

    def run(self, job: TaskJob) -> Outcome:
        cmd = job.command
        r = cmd.resource
        spec = self.resolve(r.service, r.qualifier, r.name)
        if spec is None:
            return failed(job, "FC.FunctionNotFound", f"function {r.service}/{r.name} does not exist")
        ctx = InvocationContext(
            region=self.region,
            account_id=self.account_id,
            credentials=self.credentials(),
            qualifier=r.qualifier or "LATEST",
        )
        event = compact(cmd.input).encode("utf-8")
        result = self.runner.invoke(spec, event, ctx)
        if not result.ok:
            return failed(job, result.error_type or "FC.Unknown", result.error_message or "")
        if cmd.pattern == Pattern.WAIT_FOR_CALLBACK:
            return Outcome(submitted=True)
        if str(cmd.params.get("InvocationType", "")).lower() == "async" and cmd.pattern == Pattern.REQUEST_RESPONSE:
            return succeeded(job, {})
        return _result(job, result.payload)


def _result(job: TaskJob, payload: bytes) -> Outcome:
    if not payload.strip():
        return failed(job, INVALID_LOCAL, "the function returned nothing; a task result must be a JSON object")
    try:
        value: Any = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return failed(job, INVALID_LOCAL, f"the function result is not JSON: {payload[:200]!r}")
    return succeeded(job, value)
