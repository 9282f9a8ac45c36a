"""What an invocation leaves behind: its output's tail and size, a bounded stack, one log line per failure."""

from __future__ import annotations

import logging

import pytest

from tests.functions.conftest import WriteCode
from tidegate.functions import LOG_TAIL_BYTES, FunctionRunner, HttpRequest, InvocationContext, log_tail
from tidegate.functions._loader import MAX_STACK_ENTRY, MAX_STACK_FRAMES

CTX = InvocationContext(request_id="req-logs-1")


def test_log_tail_keeps_the_last_bytes_from_a_character_boundary() -> None:
    assert log_tail("") == ""
    assert log_tail("short\n") == "short\n"
    exact = "a" * LOG_TAIL_BYTES
    assert log_tail(exact) == exact
    assert log_tail("b" + exact) == exact
    # "é" is two bytes: 3000 of them are 6000 bytes; the tail must not start inside one.
    tail = log_tail("é" * 3000)
    assert tail == "é" * (LOG_TAIL_BYTES // 2)
    tail = log_tail("x" + "é" * 3000, 4095)  # 4095 bytes would split a character: one byte fewer
    assert tail == "é" * 2047 and len(tail.encode()) == 4094
    # Four-byte characters, and a limit of the caller's choice.
    assert log_tail("😀" * 10, 9) == "😀" * 2
    assert log_tail("abc", 0) == ""


def test_a_huge_output_reports_its_size_and_the_tail_is_bounded(write_code: WriteCode) -> None:
    spec = write_code(
        """
        import sys
        def handler(event, context):
            for i in range(2000):
                print("line %05d " % i + "y" * 90)
            sys.stdout.write("THE END\\n")
            return {}
        """
    )
    with FunctionRunner(workers=1) as own:
        result = own.invoke(spec, b"", CTX)
    assert result.ok, result
    assert result.log_bytes == 2000 * 102 + len("THE END\n")
    assert len(result.logs.encode()) < 66 * 1024  # the runner's own 64 KiB bound, plus its note
    tail = log_tail(result.logs)
    assert tail.endswith("line 01999 " + "y" * 90 + "\nTHE END\n")
    assert len(tail.encode()) == LOG_TAIL_BYTES


def test_a_quiet_invocation_wrote_nothing(runner: FunctionRunner, write_code: WriteCode) -> None:
    result = runner.invoke(write_code("def handler(e, c):\n    return {}\n"), b"", CTX)
    assert (result.logs, result.log_bytes) == ("", 0)


def test_a_deep_stack_keeps_its_innermost_frames_and_long_lines_are_cut(
    runner: FunctionRunner, write_code: WriteCode
) -> None:
    spec = write_code(
        """
        def ping(n):
            if n == 0:
                raise ValueError("bottom")
            return pong(n - 1)
        def pong(n):  # alternating frames: Python's own "[Previous line repeated]" cannot fold them
            return ping(n - 1)
        def handler(event, context):
            ping(200)
        def long_line(event, context):
            x = 1; raise KeyError("k") if x else None; y = '"""
        + "z" * 5000
        + """'
        """
    )
    result = runner.invoke(spec, b"", CTX)
    assert result.error_type == "ValueError"
    assert len(result.stack) == MAX_STACK_FRAMES + 1
    assert result.stack[0] == f"  [... {202 - MAX_STACK_FRAMES} outer frames omitted]"
    assert 'raise ValueError("bottom")' in result.stack[-1]
    long = runner.invoke(spec.__class__(**{**spec.__dict__, "handler": "index.long_line"}), b"", CTX)
    assert long.error_type == "KeyError"
    assert len(long.stack) == 1 and len(long.stack[0]) == MAX_STACK_ENTRY and long.stack[0].endswith("…")


def test_one_log_line_per_failed_invocation_without_the_stack(
    runner: FunctionRunner, write_code: WriteCode, caplog: pytest.LogCaptureFixture
) -> None:
    spec = write_code(
        """
        def handler(event, context):
            print("printed before failing")
            raise RuntimeError("first line\\nsecond line \\x1b[31m" + "m" * 1000)
        def fine(event, context):
            print("all good")
            return {}
        """,
        name="failing",
    )
    with caplog.at_level(logging.INFO, logger="tidegate.functions"):
        assert not runner.invoke(spec, b"", CTX).ok
        assert runner.invoke(spec.__class__(**{**spec.__dict__, "handler": "index.fine"}), b"", CTX).ok
    lines = [r.getMessage() for r in caplog.records if r.name == "tidegate.functions"]
    assert len(lines) == 1, lines
    line = lines[0]
    assert line.startswith("function svc/failing failed (request req-logs-1): RuntimeError: first line\\nsecond")
    assert "\n" not in line and "\x1b" not in line and "\\x1b[31m" in line
    assert len(line) < 500  # the message is cut; the stack and the output are not in the log
    assert "printed before failing" not in line and "File " not in line


def test_an_http_invocation_reports_its_output_too(runner: FunctionRunner, write_code: WriteCode) -> None:
    spec = write_code(
        """
        import sys
        def handler(environ, start_response):
            print("serving", environ["PATH_INFO"], file=sys.stderr)
            start_response("200 OK", [])
            return [b"ok"]
        """,
        kind="http",
    )
    result = runner.invoke_http(spec, HttpRequest(path="/p"), CTX)
    assert result.status == 200 and result.logs == "serving /p\n" and result.log_bytes == len("serving /p\n")


def test_a_timed_out_invocation_keeps_the_tail_and_the_size_of_its_output(write_code: WriteCode) -> None:
    spec = write_code(
        """
        import sys, time
        def handler(event, context):
            for i in range(300):
                print("waiting %03d " % i + "é" * 40)
            sys.stdout.flush()
            time.sleep(60)
        """,
        timeout_s=2.0,
    )
    with FunctionRunner(workers=1) as own:
        result = own.invoke(spec, b"", CTX)
    assert result.error_type == "FC.FunctionTimeout"
    lines = [f"waiting {i:03d} " + "é" * 40 + "\n" for i in range(300)]
    assert result.log_bytes == len("".join(lines).encode())
    assert result.logs.endswith(lines[-1]) and result.logs == log_tail(result.logs)
    assert LOG_TAIL_BYTES - 3 <= len(result.logs.encode()) <= LOG_TAIL_BYTES
