"""The server on a PostgreSQL store: executions run, long-polls wake through LISTEN/NOTIFY."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.api.scenarios import CALLBACK_FLOW, HELPERS, PASS_FLOW, write_functions
from tests.api.sdk import run_scenario
from tests.server import TEST_KEYS, ServerProcess
from tests.stores import PG_URL, drop_schema, require_pg


@pytest.mark.postgres
def test_server_on_postgres(tmp_path: Path) -> None:
    require_pg()
    schema = f"tg_api_{uuid.uuid4().hex[:10]}"
    functions = write_functions(tmp_path / "functions")
    srv = ServerProcess(
        tmp_path / "data",
        env=TEST_KEYS,
        args=["--store", f"{PG_URL}?schema={schema}", "--functions", str(functions)],
    )
    try:
        srv.start()
        out = run_scenario(
            "fnftea",
            srv.endpoint,
            HELPERS
            + f"""
import threading
call("CreateFlow", Name="p", Definition={PASS_FLOW!r}, Description="", Type="FDL")
call("CreateFlow", Name="cb", Definition={CALLBACK_FLOW!r}, Description="", Type="FDL")
call("StartExecution", FlowName="p", ExecutionName="e1")
out["pass"] = call("DescribeExecution", FlowName="p", ExecutionName="e1", WaitTimeSeconds=10)
call("StartExecution", FlowName="cb", ExecutionName="e1")
tok = wait_token("cb", "e1")
res = {{}}
def poll():
    t = time.monotonic()
    res["r"] = call("DescribeExecution", FlowName="cb", ExecutionName="e1", WaitTimeSeconds=30)
    res["s"] = time.monotonic() - t
th = threading.Thread(target=poll)
th.start()
out["report"] = call("ReportTaskSucceeded", TaskToken=tok, Output='{{"pg": true}}')
th.join()
out["poll"], out["poll_s"] = res["r"], res["s"]
out["twice"] = call("ReportTaskSucceeded", TaskToken=tok, Output='{{"pg": true}}')
""",
        )
    finally:
        srv.stop()
        drop_schema(schema)
    assert out["pass"]["ok"]["Status"] == "Succeeded"
    assert out["poll"]["ok"]["Status"] == "Succeeded" and out["poll"]["ok"]["Output"] == '{"pg":true}'
    assert out["poll_s"] < 10
    assert out["twice"]["error"] == "TaskAlreadyCompleted"
