"""Texts and tokens that reach the store, on both backends: a 400 InvalidArgument, never a store error.

PostgreSQL text cannot hold NUL and neither backend's integer columns hold more than 64 bits; SQLite would
take a NUL, so only the PostgreSQL runs show the store error these checks prevent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.api.scenarios import PASS_FLOW
from tidegate.auth.tasktoken import TaskTokenSigner
from tidegate.errors import TidegateError
from tidegate.runtime.service import WorkflowService
from tidegate.store import open_store

HUGE = "99999999999999999999999"


@pytest.fixture
def svc(store_url: str) -> Iterator[WorkflowService]:
    store = open_store(store_url)
    service = WorkflowService(store, TaskTokenSigner(b"k" * 32))
    service.create_flow("f", PASS_FLOW)
    service.start_execution("f", "e1")
    yield service
    store.close()


CASES: dict[str, tuple[Callable[[WorkflowService], object], str]] = {
    "description_nul": (lambda s: s.create_flow("g", PASS_FLOW, description="a\x00b"), "NUL character at character 1"),
    "role_arn_nul": (lambda s: s.create_flow("g", PASS_FLOW, role_arn="\x00"), "The RoleArn holds a NUL"),
    "update_description": (lambda s: s.update_flow("f", description="\x00"), "The description holds a NUL"),
    "update_role_arn": (lambda s: s.update_flow("f", role_arn="\ud800"), "The RoleArn holds a lone UTF-16"),
    "stop_cause": (lambda s: s.stop_execution("f", "e1", "E", "\x00"), "The cause holds a NUL"),
    "stop_error": (lambda s: s.stop_execution("f", "e1", "\ud800"), "The error holds a lone"),
    "schedule_description": (
        lambda s: s.create_schedule("f", "s", "@every 1m", description="\x00"),
        "The description holds a NUL",
    ),
    "flows_token": (lambda s: s.list_flows(10, "a\x00"), "NextToken"),
    "schedules_token": (lambda s: s.list_schedules("f", 10, "\x00"), "NextToken"),
    "executions_token": (lambda s: s.list_executions("f", next_token=HUGE + ".1"), "NextToken"),
    "executions_token_id": (lambda s: s.list_executions("f", next_token="1." + HUGE), "NextToken"),
    "executions_prefix": (lambda s: s.list_executions("f", name_prefix="e\x00"), "name prefix"),
    "history_token": (lambda s: s.get_history("f", "e1", next_token=HUGE), "NextToken"),
}


@pytest.mark.parametrize("case", CASES)
def test_unstorable_values_are_invalid_arguments(svc: WorkflowService, case: str) -> None:
    call, message = CASES[case]
    with pytest.raises(TidegateError) as info:
        call(svc)
    assert info.value.code == "InvalidArgument" and message in info.value.message, info.value.message


def test_good_values_still_pass(svc: WorkflowService) -> None:
    assert svc.create_flow("g", PASS_FLOW, description="tab\tnewline\n é 😀", role_arn="acs:ram::1:role/r").name == "g"
    assert [f.name for f in svc.list_flows(10, "f").items] == ["g"]
    assert [e.name for e in svc.list_executions("f", name_prefix="e").items] == ["e1"]
    assert svc.list_executions("f", next_token="0.0").items[0].name == "e1"
    svc.start_execution("f", "nul", '{"a":"\\u0000"}')  # inside JSON a NUL is an escape, storable anywhere
    assert svc.describe_execution("f", "nul").input == '{"a":"\\u0000"}'
