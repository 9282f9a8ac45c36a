"""Event handlers: results, errors, context, environment, output capture, module reload."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.functions.conftest import WriteCode
from tidegate.functions import (
    HANDLER_IMPORT_ERROR,
    HANDLER_NOT_FOUND,
    INITIALIZER_ERROR,
    Credentials,
    FunctionRunner,
    FunctionSpec,
    InvocationContext,
    WrongFunctionKind,
)

CTX = InvocationContext(
    request_id="req-1",
    region="cn-shanghai",
    account_id="1234",
    credentials=Credentials("STS.ak", "secret", "token"),
)

RESULTS = """
    def as_dict(event, context):
        return {"got": event.decode(), "n": 1}
    def as_json_text(event, context):
        return '{"status": "ok"}'
    def as_bytes(event, context):
        return b"\\x00\\xffraw"
    def as_none(event, context):
        return None
    def as_list(event, context):
        return [1, "two", None]
    def as_unicode(event, context):
        return {"text": "海潮"}
    def echo(event, context):
        return event
"""


@pytest.mark.parametrize(
    ("attr", "payload"),
    [
        ("as_dict", b'{"got":"{\\"a\\": 1}","n":1}'),
        ("as_json_text", b'{"status": "ok"}'),
        ("as_bytes", b"\x00\xffraw"),
        ("as_none", b""),
        ("as_list", b'[1,"two",null]'),
        ("as_unicode", '{"text":"海潮"}'.encode()),
        ("echo", b'{"a": 1}'),
    ],
)
def test_return_values_are_serialised(runner: FunctionRunner, write_code: WriteCode, attr: str, payload: bytes) -> None:
    spec = write_code(RESULTS, attr=attr)
    result = runner.invoke(spec, b'{"a": 1}', CTX)
    assert result.ok, result
    assert result.payload == payload
    assert result.error_type is None
    assert result.duration_ms >= 0


def test_event_is_bytes(runner: FunctionRunner, write_code: WriteCode) -> None:
    spec = write_code("def handler(event, context):\n    return type(event).__name__\n")
    assert runner.invoke(spec, b"{}", CTX).payload == b"bytes"


def test_exception_becomes_error_type_and_message(runner: FunctionRunner, write_code: WriteCode) -> None:
    spec = write_code(
        """
        class BookFlightError(Exception):
            pass

        def handler(event, context):
            raise BookFlightError("no seats on " + event.decode())
        """
    )
    result = runner.invoke(spec, b"MU5101", CTX)
    assert not result.ok
    assert result.error_type == "BookFlightError"
    assert result.error_message == "no seats on MU5101"
    assert result.payload == b""
    assert any("index.py" in line and "in handler" in line for line in result.stack)
    assert result.error_document()["errorType"] == "BookFlightError"


def test_unserialisable_result_is_a_function_error(runner: FunctionRunner, write_code: WriteCode) -> None:
    spec = write_code("def handler(event, context):\n    return {1, 2}\n")
    result = runner.invoke(spec, b"", CTX)
    assert (result.ok, result.error_type) == (False, "TypeError")
    assert "not JSON serializable" in (result.error_message or "")


def test_sys_exit_does_not_kill_the_worker(runner: FunctionRunner, write_code: WriteCode) -> None:
    spec = write_code("import sys\ndef handler(event, context):\n    sys.exit(4)\n")
    pids = runner.invoke(spec, b"", CTX), runner.worker_pids()
    assert pids[0].error_type == "SystemExit"
    assert runner.worker_pids() == pids[1]


def test_module_that_fails_to_import(runner: FunctionRunner, write_code: WriteCode) -> None:
    spec = write_code("import json\nraise RuntimeError('config missing')\ndef handler(e, c):\n    return 1\n")
    result = runner.invoke(spec, b"", CTX)
    assert result.error_type == HANDLER_IMPORT_ERROR
    assert "RuntimeError: config missing" in (result.error_message or "")
    assert any("index.py" in line for line in result.stack)


def test_module_with_syntax_error(runner: FunctionRunner, write_code: WriteCode) -> None:
    spec = write_code("def handler(event, context) return 1\n")
    result = runner.invoke(spec, b"", CTX)
    assert result.error_type == HANDLER_IMPORT_ERROR
    assert "SyntaxError" in (result.error_message or "")


def test_module_importing_a_missing_library(runner: FunctionRunner, write_code: WriteCode) -> None:
    spec = write_code("import no_such_library_xyz\ndef handler(e, c):\n    return 1\n")
    result = runner.invoke(spec, b"", CTX)
    assert result.error_type == HANDLER_IMPORT_ERROR
    assert "no_such_library_xyz" in (result.error_message or "")


def test_missing_module_and_missing_attribute(runner: FunctionRunner, write_code: WriteCode) -> None:
    spec = write_code("def other(event, context):\n    return 1\n")
    missing_attr = runner.invoke(spec, b"", CTX)
    assert missing_attr.error_type == HANDLER_NOT_FOUND
    assert "'handler'" in (missing_attr.error_message or "")
    missing_module = FunctionSpec(service="svc", name="fn", code_dir=spec.code_dir, handler="nothere.handler")
    result = runner.invoke(missing_module, b"", CTX)
    assert result.error_type == HANDLER_NOT_FOUND
    assert "nothere" in (result.error_message or "")


def test_context_attributes(runner: FunctionRunner, write_code: WriteCode) -> None:
    spec = write_code(
        """
        def handler(event, context):
            c, f = context.credentials, context.function
            return {
                "request_id": context.request_id, "region": context.region, "account_id": context.account_id,
                "creds": [c.access_key_id, c.access_key_secret, c.security_token],
                "aliases": [c.accessKeyId, c.accessKeySecret, c.securityToken],
                "function": [f.name, f.handler, f.memory, f.timeout],
                "service": context.service.name,
                "qualifier": context.service.qualifier,
            }
        """,
        name="book",
        service="trip",
        timeout_s=2.5,
    )
    got = runner.invoke(spec, b"", CTX).json()
    assert got == {
        "request_id": "req-1",
        "region": "cn-shanghai",
        "account_id": "1234",
        "creds": ["STS.ak", "secret", "token"],
        "aliases": ["STS.ak", "secret", "token"],
        "function": ["book", "index.handler", 128, 3],
        "service": "trip",
        "qualifier": "LATEST",
    }


def test_environment_cwd_and_credentials(runner: FunctionRunner, write_code: WriteCode) -> None:
    spec = write_code(
        """
        import os
        def handler(event, context):
            keys = ["GREETING", "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
                    "ALIBABA_CLOUD_SECURITY_TOKEN", "FC_FUNCTION_NAME", "DATABASE_URL"]
            return {"env": {k: os.environ.get(k) for k in keys}, "cwd": os.getcwd()}
        """,
        env={"GREETING": "hi"},
    )
    os.environ["DATABASE_URL"] = "postgresql://secret"  # the server's own env must not leak
    try:
        with FunctionRunner(workers=1) as own:
            got = own.invoke(spec, b"", CTX).json()
            anonymous = FunctionSpec(service="svc", name="fn", code_dir=spec.code_dir)
            bare = own.invoke(anonymous, b"", InvocationContext()).json()
    finally:
        del os.environ["DATABASE_URL"]
    assert got["env"] == {
        "GREETING": "hi",
        "ALIBABA_CLOUD_ACCESS_KEY_ID": "STS.ak",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "secret",
        "ALIBABA_CLOUD_SECURITY_TOKEN": "token",
        "FC_FUNCTION_NAME": "fn",
        "DATABASE_URL": None,
    }
    assert Path(got["cwd"]) == spec.code_dir
    # The next invocation (same worker) sees neither the previous spec's env nor its keys.
    assert bare["env"]["GREETING"] is None
    assert bare["env"]["ALIBABA_CLOUD_ACCESS_KEY_ID"] is None


def test_output_is_captured_per_invocation(runner: FunctionRunner, write_code: WriteCode) -> None:
    spec = write_code(
        """
        import logging, os, subprocess, sys
        def handler(event, context):
            print("to stdout", event.decode())
            print("to stderr", file=sys.stderr)
            os.write(1, b"raw fd write\\n")
            logging.getLogger().info("via logging")
            subprocess.run(["echo", "from a child"], check=True)
            return "result"
        """
    )
    first = runner.invoke(spec, b"one", CTX)
    assert first.payload == b"result"
    for text in ("to stdout one", "to stderr", "raw fd write", "via logging", "from a child"):
        assert text in first.logs
    quiet = write_code("def handler(e, c):\n    return 'q'\n", module="quiet")
    # Whichever worker runs it, nothing of the earlier invocation shows up.
    for _ in range(4):
        assert runner.invoke(quiet, b"", CTX).logs == ""


def test_output_is_capped_keeping_the_tail(write_code: WriteCode) -> None:
    spec = write_code("def handler(e, c):\n    print('x' * 5000)\n    print('THE END')\n")
    with FunctionRunner(workers=1, log_limit=1000) as own:
        logs = own.invoke(spec, b"", CTX).logs
    assert logs.endswith("THE END\n")
    assert "bytes of earlier output dropped" in logs
    assert len(logs) < 1100


def test_module_reloads_when_its_file_changes(runner: FunctionRunner, write_code: WriteCode) -> None:
    spec = write_code("import helper\ndef handler(e, c):\n    return helper.VALUE\n")
    helper = spec.code_dir / "helper.py"
    helper.write_text("VALUE = 'one'\n")
    assert {runner.invoke(spec, b"", CTX).payload for _ in range(6)} == {b"one"}
    helper.write_text("VALUE = 'second'\n")
    stat = helper.stat()
    os.utime(helper, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    assert {runner.invoke(spec, b"", CTX).payload for _ in range(6)} == {b"second"}


def test_module_state_is_cached_between_invocations(write_code: WriteCode) -> None:
    spec = write_code("calls = []\ndef handler(e, c):\n    calls.append(1)\n    return len(calls)\n")
    with FunctionRunner(workers=1) as own:
        assert [own.invoke(spec, b"", CTX).json() for _ in range(3)] == [1, 2, 3]


def test_code_folders_are_isolated(runner: FunctionRunner, write_code: WriteCode) -> None:
    source = "import util\ndef handler(e, c):\n    return util.NAME\n"
    first = write_code(source, service="a")
    second = write_code(source, service="b")
    (first.code_dir / "util.py").write_text("NAME = 'a'\n")
    (second.code_dir / "util.py").write_text("NAME = 'b'\n")
    with FunctionRunner(workers=1) as own:
        got = [own.invoke(spec, b"", CTX).payload for spec in (first, second, first, second)]
    assert got == [b"a", b"b", b"a", b"b"]


def test_initializer_runs_once_and_its_failure_is_reported(write_code: WriteCode) -> None:
    spec = write_code(
        """
        state = {"inits": 0}
        def init(context):
            state["inits"] += 1
            state["fn"] = context.function.name
        def handler(e, c):
            return state
        """,
        initializer="index.init",
    )
    broken = write_code("def init(c):\n    raise OSError('no db')\n", module="bad", initializer="bad.init")
    with FunctionRunner(workers=1) as own:
        assert [own.invoke(spec, b"", CTX).json() for _ in range(2)] == [{"inits": 1, "fn": "fn"}] * 2
        result = own.invoke(broken, b"", CTX)
    assert result.error_type == INITIALIZER_ERROR
    assert "OSError: no db" in (result.error_message or "")


def test_event_call_on_http_function_is_refused(runner: FunctionRunner, write_code: WriteCode) -> None:
    spec = write_code("def handler(e, c):\n    return 1\n", kind="http")
    with pytest.raises(WrongFunctionKind):
        runner.invoke(spec, b"", CTX)


def test_payload_json_helper(runner: FunctionRunner, write_code: WriteCode) -> None:
    spec = write_code("import json\ndef handler(e, c):\n    return json.loads(e)\n")
    big = {"items": list(range(20000))}
    assert runner.invoke(spec, json.dumps(big).encode(), CTX).json() == big
