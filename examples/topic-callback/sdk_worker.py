"""The second source document's callback as a tidegate.sdk worker: for a queue subscribed to the topic.

The document's topic pushes each message over HTTP to a function (functions/callback/index.py), and the
function reports the task: there is no queue, so there is nothing for a worker to poll. The SDK worker
applies to queues. To serve the topic's tasks from a worker instead, subscribe a queue to the topic; the
worker reads the notification's Message ({"messageBody": …, "taskToken": …}) and reports what the
document's function reports:

    eval "$(.venv/bin/tidegate env)"
    .venv/bin/tidegate queue create fnf-demo-topic-tasks
    .venv/bin/tidegate topic subscribe fnf-demo-topic to-worker \\
        "acs:mns:$REGION:$ACCOUNT_ID:queues/fnf-demo-topic-tasks" --format JSON
    .venv/bin/python examples/topic-callback/sdk_worker.py

With the example's function subscription in place as well, both report each task: the later report is
answered TaskAlreadyCompleted, which the worker counts as done.
"""

import logging

from tidegate.sdk import Worker


def handle(payload):
    # payload: the published body without its token, here {"messageBody": "hello world"}.
    print(f"Handling {payload}", flush=True)
    return {"status": "success"}  # what the document's function reports; the flow maps it to its output


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stats = Worker("fnf-demo-topic-tasks", handle).run()
    print(f"Stopped: {stats}", flush=True)
