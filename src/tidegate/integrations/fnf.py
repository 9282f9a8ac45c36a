"""Child flows: ``acs:fnf:::flow/NAME`` task steps and the ``fnf:StartExecution`` API action.

* requestResponse starts the child and completes with its StartExecution result.
* sync starts the child with the parent's task token as its callback token; the task completes when the
  child ends (the driver reports the child's output, or its error and cause, in the transaction that ends
  the child).
* waitForCallback starts the child and waits for anyone to report the token (typically the child).

A task job may run more than once (crash recovery), so a child started without ``ExecutionName`` gets a
name derived from the parent execution and task attempt: running the job again finds the same child
instead of starting a second one.

Starting the child acts as the parent flow's execution role (:mod:`tidegate.integrations.roles`):
``fnf:StartExecution`` on ``acs:fnf:REGION:ACCOUNT:flows/CHILD/executions/NAME``; a role that may not fails
the task with ``FnF.AccessDenied`` (``fnf.AccessDenied`` for the API action, as its other errors).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from tidegate.engine import rfc3339_ms, start_event
from tidegate.flow.model import Pattern
from tidegate.integrations.base import UNAVAILABLE, Outcome, TaskJob, failed, succeeded
from tidegate.integrations.roles import ACCESS_DENIED, TaskRoles
from tidegate.jsontext import compact
from tidegate.ram import arns
from tidegate.store import ExecutionAlreadyExists, ExecutionRecord, FlowNotFound, Store

_NAMESPACE = uuid.UUID("6f1c1c8e-52c4-4c59-9d43-3c1f1cc4b8a1")


def child_name(job: TaskJob) -> str:
    """The deterministic child execution name of one task attempt."""
    return str(uuid.uuid5(_NAMESPACE, f"{job.flow_name}/{job.execution_name}/{job.command.task_key}"))


def _describe(r: ExecutionRecord, request_id: str) -> dict[str, Any]:
    return {
        "FlowName": r.flow_name,
        "Name": r.name,
        "ExecutionName": r.name,
        "Status": r.status,
        "StartedTime": rfc3339_ms(r.started_ms),
        "RequestId": request_id,
    }


class ChildFlowIntegration:
    """Starts child executions in the same store."""

    def __init__(self, store: Store, clock: Callable[[], int], roles: TaskRoles | None = None) -> None:
        self.store = store
        self.clock = clock
        self.roles = roles

    def run(self, job: TaskJob) -> Outcome:
        cmd = job.command
        params = cmd.params
        raw_input = params.get("Input", cmd.input)
        name = str(params.get("ExecutionName") or child_name(job))
        return self._start(
            job,
            flow_name=cmd.resource.name,
            name=name,
            raw_input=raw_input,
            callback=cmd.token if cmd.pattern == Pattern.SYNC else None,
            error_prefix="FnF",
        )

    def _start(
        self,
        job: TaskJob,
        *,
        flow_name: str,
        name: str,
        raw_input: Any,
        callback: str | None,
        error_prefix: str,
    ) -> Outcome:
        if isinstance(raw_input, str):
            try:
                raw_input = json.loads(raw_input or "{}")
            except json.JSONDecodeError:
                return failed(job, f"{error_prefix}.InvalidArgument", "Input is not JSON")
        if not isinstance(raw_input, dict):
            return failed(job, f"{error_prefix}.InvalidArgument", "Input must be a JSON object")
        if self.roles is not None:
            r = self.roles
            resource = arns.fnf_execution(r.region, r.account_id, flow_name, name)
            denied = r.denial(job.flow_name, job.execution_name, "fnf:StartExecution", resource)
            if denied is not None:
                return failed(job, f"{error_prefix}.{ACCESS_DENIED}", denied)
        try:
            flow = self.store.get_flow(flow_name)
        except FlowNotFound:
            return failed(job, f"{error_prefix}.FlowNotExists", f"Flow '{flow_name}' does not exist")
        record = ExecutionRecord(
            flow_name=flow_name,
            name=name,
            definition=flow.definition,
            input=compact(raw_input),
            started_ms=self.clock(),
            callback_token=callback,
            parent_id=job.execution_id,
        )
        request_id = str(uuid.uuid4())
        try:
            started, _ = self.store.create_execution(record, start_event())
        except ExecutionAlreadyExists:
            if name != child_name(job):
                return failed(
                    job,
                    f"{error_prefix}.ExecutionAlreadyExists",
                    f"Execution {name} for flow {flow_name} already exists.",
                )
            # This job already started the child before a crash (and it has ended): the same result again.
            started = self.store.get_execution(flow_name, name)
        if job.command.pattern == Pattern.REQUEST_RESPONSE:
            return succeeded(job, _describe(started, request_id))
        return Outcome(submitted=True)


class FnfActionIntegration(ChildFlowIntegration):
    """``action: fnf:StartExecution`` with serviceParams ``FlowName``, ``ExecutionName``, ``Input``."""

    def run(self, job: TaskJob) -> Outcome:
        cmd = job.command
        if cmd.resource.product.lower() != "fnf" or cmd.resource.name != "StartExecution":
            # Not a failure of the flow's own logic: no tidegate process can reach this API (and a flow that
            # catches FnF.RuntimeError must not mistake it for one), so it gets the unreachable-target error.
            return failed(
                job, UNAVAILABLE, f"{cmd.resource.text}: this API action is not integrated (only fnf:StartExecution)"
            )
        params = cmd.params
        flow_name = params.get("FlowName")
        if not isinstance(flow_name, str) or not flow_name:
            return failed(job, "fnf.MissingRequiredParams", "serviceParams.FlowName must be given")
        name = str(params.get("ExecutionName") or child_name(job))
        return self._start(
            job,
            flow_name=flow_name,
            name=name,
            raw_input=params.get("Input", "{}"),
            callback=None,
            error_prefix="fnf",
        )
