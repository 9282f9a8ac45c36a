"""The second source document end to end: flow → topic → HTTP push → WSGI function → ReportTaskSucceeded.

The flow, the topic with its JSON subscription and the function (with its SDK, installed by the server)
come from ``examples/topic-callback/deploy.yaml``; the function's code is the document's, unchanged, and
reports with the temporary credentials of ``fc.context``.
"""

from __future__ import annotations

import json

from tests.api.sdk import run_scenario
from tests.examples.conftest import AUTH, history_types, wait_execution
from tests.sdkenv import SdkEnv
from tests.server import ServerProcess
from tidegate.mq.client import MnsClient, fields


def test_topic_callback_example(server: ServerProcess, fnfcore_env: SdkEnv) -> None:
    out = run_scenario(
        "fnfcore",
        server.endpoint,
        """
r = call("StartExecution", FlowName="mns-topic-callback", ExecutionName="topic-1",
         Input=json.dumps({"messageBody": "hello world"}))
out["start"] = r
""",
    )
    assert "ok" in out["start"], out
    doc = wait_execution(server, "mns-topic-callback", "topic-1")
    assert doc["status"] == "Succeeded", doc
    assert doc["output"] == {"status": "success"}
    events = history_types(server, "mns-topic-callback", "topic-1")
    types = [e["type"] for e in events]
    assert "TaskSubmitted" in types and "TaskSucceeded" in types
    succeeded = next(e for e in events if e["type"] == "TaskSucceeded")
    assert succeeded["detail"] == {"output": {"status": "success"}}
    # The message carried the task token and the document's body to the function.
    scheduled = next(e for e in events if e["type"] == "TaskScheduled")
    assert scheduled["detail"]["input"]["messageBody"] == "hello world"  # type: ignore[index]
    # The push was delivered (nothing left to push) and the describe through the SDK agrees.
    client = MnsClient(server.url, *AUTH)
    try:
        assert fields(client.request("GET", "/topics/fnf-demo-topic").xml())["MessageCount"] == "0"
    finally:
        client.close()
    out = run_scenario(
        "fnfcore",
        server.endpoint,
        'out["d"] = call("DescribeExecution", FlowName="mns-topic-callback", ExecutionName="topic-1")',
    )
    assert out["d"]["ok"]["Status"] == "Succeeded" and json.loads(out["d"]["ok"]["Output"]) == {"status": "success"}
