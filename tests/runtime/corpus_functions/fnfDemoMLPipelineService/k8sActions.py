"""Stand-in for the machine-learning-pipeline sample's ``k8sActions``: one function, dispatched on ``action``.

The status actions report "in progress" a fixed number of times before success, counted in a file next to
this one, so the flow's wait → task → choice goto loops run a known number of rounds and then terminate.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# action -> (result key, in-progress value, polls that report it before "succeeded")
POLLS = {
    "get-train-status": ("status", "running", 2),
    "get-deployment-status": ("deploymentStatus", "running", 1),
    "get-service-status": ("serviceStatus", "not-ready", 1),
}
ENDPOINT = "http://10.0.0.7:8501/v1/models/mnist"


def _count(action: str) -> int:
    path = Path(__file__).with_name(f".{action}.count")
    n = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(n))
    return n


def handler(event: bytes, context: Any) -> dict[str, Any]:
    req = json.loads(event)
    action = req["action"]
    name = f"{req.get('demoVersion', '')}"
    if action == "train-model":
        return {"trainJob": f"{req['trainJobNamePrefix']}-{name}"}
    if action == "deploy-model":
        return {"deployment": f"{req['deploymentNamePrefix']}-{name}"}
    if action == "expose-service":
        return {"service": f"{req['serviceNamePrefix']}-{name}"}
    if action == "run-test-cases":
        # waitForCallback: this result is discarded; the decision comes with ReportTaskSucceeded.
        return {"started": req["task_token"] != ""}
    key, pending, rounds = POLLS[action]
    if _count(action) <= rounds:
        return {key: pending}
    if action == "get-service-status":
        return {key: "succeeded", "servingEndpoint": ENDPOINT}
    return {key: "succeeded"}
