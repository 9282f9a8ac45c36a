"""A flow waiting on a callback survives a SIGKILL of the server; the report after restart resumes it."""

from __future__ import annotations

from pathlib import Path

from tests.api.scenarios import CALLBACK_FLOW, HELPERS, write_functions
from tests.api.sdk import run_scenario
from tests.server import TEST_KEYS, ServerProcess


def test_callback_survives_kill_and_restart(tmp_path: Path) -> None:
    functions = write_functions(tmp_path / "functions")
    srv = ServerProcess(tmp_path / "data", env=TEST_KEYS, args=["--functions", str(functions)])
    srv.start()
    try:
        before = run_scenario(
            "fnfcore",
            srv.endpoint,
            HELPERS
            + f"""
call("CreateFlow", Name="cb", Definition={CALLBACK_FLOW!r}, Description="", Type="FDL")
call("StartExecution", FlowName="cb", ExecutionName="e1")
out["token"] = wait_token("cb", "e1")
""",
        )
        srv.restart()  # SIGKILL, then start on the same data folder and port
        after = run_scenario(
            "fnfcore",
            srv.endpoint,
            f"""
out["waiting"] = call("DescribeExecution", FlowName="cb", ExecutionName="e1")
out["report"] = call("ReportTaskSucceeded", TaskToken={before["token"]!r}, Output='{{"after": "restart"}}')
out["done"] = call("DescribeExecution", FlowName="cb", ExecutionName="e1", WaitTimeSeconds=20)
""",
        )
    finally:
        srv.stop()
    assert after["waiting"]["ok"]["Status"] == "Running"
    assert "EventId" in after["report"]["ok"]
    assert after["done"]["ok"]["Status"] == "Succeeded"
    assert after["done"]["ok"]["Output"] == '{"after":"restart"}'
