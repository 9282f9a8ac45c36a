"""tidegate.sdk: the worker SDK for task messages (``waitForCallback`` task steps that send to a queue).

It imports nothing else of tidegate and needs only httpx, and it speaks the services' own protocols (MNS,
Serverless Workflow RPC), so the same worker runs against a tidegate server and against Alibaba Cloud::

    from tidegate.sdk import Worker, TaskFailed

    def handle(payload):            # the message body's JSON object, without its task token
        if "key" not in payload:
            raise TaskFailed("MissingKey", "the input has no key")
        return {"key": payload["key"]}   # the task's output

    Worker("fnf-demo", handle, concurrency=16).run()

``tidegate worker --queue fnf-demo module:handle`` runs the same from the command line. docs/sdk.md has the
whole of it: configuration, heartbeats, retries and shutdown.
"""

from tidegate.sdk._http import Transport
from tidegate.sdk.config import ClientConfig, Credentials, CredentialsProvider
from tidegate.sdk.errors import ConfigError, SdkError, ServiceError, TaskFailed
from tidegate.sdk.fnf import FnfClient
from tidegate.sdk.mns import Message, MnsQueue
from tidegate.sdk.task import BodyEncoding, InvalidTaskMessage, Task, TaskFormat, current_task, parse_task
from tidegate.sdk.worker import Handler, Worker, WorkerStats

__all__ = [
    "BodyEncoding",
    "ClientConfig",
    "ConfigError",
    "Credentials",
    "CredentialsProvider",
    "FnfClient",
    "Handler",
    "InvalidTaskMessage",
    "Message",
    "MnsQueue",
    "SdkError",
    "ServiceError",
    "Task",
    "TaskFailed",
    "TaskFormat",
    "Transport",
    "Worker",
    "WorkerStats",
    "current_task",
    "parse_task",
]
