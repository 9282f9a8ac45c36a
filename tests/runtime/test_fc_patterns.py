"""Function Compute task targets and their patterns (docs/flow-language.md) on local functions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.runtime.helpers import add_flow, start, wait_ended
from tests.waiting import wait_until
from tidegate.engine import TaskFailed
from tidegate.runtime import Runtime, load_signer
from tidegate.store import Store, open_store

HANDLERS = {
    "echo": (
        "import json\n"
        "def handler(event, context):\n"
        "    return {'got': json.loads(event), 'function': context.function.name}\n"
    ),
    "tokens": (
        "import json\n"
        "def handler(event, context):\n"
        "    with open(__file__ + '.tokens', 'a') as f:\n"
        "        f.write(json.loads(event)['token'] + '\\n')\n"
        "    return {'ignored': True}\n"
    ),
    "text": "def handler(event, context):\n    return 'not json'\n",
    "boom": (
        "class BookHotelError(Exception):\n"
        "    pass\n"
        "def handler(event, context):\n"
        "    raise BookHotelError('no rooms')\n"
    ),
}


def flow(function: str, pattern: str = "requestResponse", extra: str = "") -> str:
    return f"""version: v1
type: flow
steps:
  - type: task
    name: call
    resourceArn: acs:fc:::services/svc.LATEST/functions/{function}
    pattern: {pattern}
{extra}"""


@pytest.fixture
def functions(tmp_path: Path) -> Path:
    root = tmp_path / "functions"
    (root / "svc").mkdir(parents=True)
    for name, code in HANDLERS.items():
        (root / "svc" / f"{name}.py").write_text(code)
    return root


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        yield s
    finally:
        s.close()


def run_flow(store: Store, functions: Path, definition: str, data: dict[str, object]) -> tuple[str, object, str]:
    add_flow(store, "f", definition)
    with Runtime(store, signer=load_signer(store), functions_dir=functions, workers=2):
        rec = wait_ended(store, start(store, "f", data).id)
    output = json.loads(rec.output) if rec.output else None
    return rec.status, output, f"{rec.error}: {rec.cause}"


def test_request_response_result_is_the_local(store: Store, functions: Path) -> None:
    status, output, _ = run_flow(store, functions, flow("echo"), {"a": 1})
    assert status == "Succeeded" and output == {"got": {"a": 1}, "function": "echo"}


def test_async_request_response_does_not_wait_for_the_result(store: Store, functions: Path) -> None:
    extra = "    serviceParams:\n      InvocationType: Async\n"
    status, output, _ = run_flow(store, functions, flow("echo", extra=extra), {"a": 1})
    assert status == "Succeeded" and output == {}


def test_async_sync_gives_the_invocation_result(store: Store, functions: Path) -> None:
    extra = "    serviceParams:\n      InvocationType: Async\n"
    status, output, _ = run_flow(store, functions, flow("echo", "sync", extra), {"a": 2})
    assert status == "Succeeded" and output == {"got": {"a": 2}, "function": "echo"}


def test_wait_for_callback_discards_the_result_and_waits_for_the_token(store: Store, functions: Path) -> None:
    extra = "    inputMappings:\n      - {target: token, source: $context.task.token}\n"
    add_flow(store, "f", flow("tokens", "waitForCallback", extra))
    rt = Runtime(store, signer=load_signer(store), functions_dir=functions, workers=2)
    tokens = functions / "svc" / "tokens.py.tokens"
    with rt:
        ex = start(store, "f")
        token = wait_until(lambda: tokens.read_text().strip() if tokens.exists() else "", message="the token file")
        _, _, key = rt.signer.parse(token)
        wait_until(lambda: any(h.type == "TaskSubmitted" for h in store.get_history(ex.id)), message="TaskSubmitted")
        assert store.get_execution_by_id(ex.id).status == "Running"  # the function's return value is ignored
        assert store.complete_task(ex.id, key, TaskFailed(task_key=key, error="Worker.Failed", cause="x").to_dict())
        rec = wait_ended(store, ex.id)
    assert (rec.status, rec.error, rec.cause) == ("Failed", "Worker.Failed", "x")


def test_function_exception_names_the_error(store: Store, functions: Path) -> None:
    status, _, error = run_flow(store, functions, flow("boom"), {})
    assert status == "Failed" and error == "BookHotelError: no rooms"


def test_non_json_result_is_an_invalid_local(store: Store, functions: Path) -> None:
    status, _, error = run_flow(store, functions, flow("text"), {})
    assert status == "Failed" and error.startswith("FnF.InvalidLocal: ")


def test_missing_function_fails_clearly(store: Store, functions: Path) -> None:
    status, _, error = run_flow(store, functions, flow("ghost"), {})
    assert status == "Failed" and error == "FC.FunctionNotFound: function svc/ghost does not exist"
