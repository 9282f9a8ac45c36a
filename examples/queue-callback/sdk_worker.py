"""The first source document's worker, written with tidegate.sdk instead of the official SDKs.

It does what worker.py beside it does (receive a task message from fnf-demo, report the task succeeded with
{"key": "value"}, delete the message), and also: receives up to 16 messages per request, runs tasks
concurrently, reports a handler's exception as the task's failure, extends a slow task's visibility, and
stops gracefully on SIGTERM or Ctrl-C. It reads TIDEGATE_ENDPOINT and the keys `tidegate env` exports, or,
against Alibaba Cloud, ALIBABA_CLOUD_REGION_ID, ALIBABA_CLOUD_ACCOUNT_ID and ALIBABA_CLOUD_ACCESS_KEY_* .

    eval "$(.venv/bin/tidegate env)"
    .venv/bin/python examples/queue-callback/sdk_worker.py
    # or: cd examples/queue-callback && ../../.venv/bin/tidegate worker --queue fnf-demo sdk_worker:handle
"""

import logging

from tidegate.sdk import Worker


def handle(payload):
    # payload: the message body without its task token, here {"key": "value"} (the flow's inputMappings).
    print(f"Handling {payload}", flush=True)
    return {"key": "value"}  # the task's output, as the document's worker reports it


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stats = Worker("fnf-demo", handle).run()
    print(f"Stopped: {stats}", flush=True)
