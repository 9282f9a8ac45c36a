"""Helpers of the message-service tests."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.server import TEST_KEYS, ServerProcess
from tidegate.mq._common import new_message_id
from tidegate.mq.client import MnsClient
from tidegate.mq.queues import QueueService
from tidegate.mq.topics import TopicService
from tidegate.mq.wire import body_md5


class FakeClock:
    """A settable wall clock in epoch milliseconds (starts at the real time)."""

    def __init__(self) -> None:
        self.ms = time.time_ns() // 1_000_000

    def __call__(self) -> int:
        return self.ms

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.ms += int(seconds * 1000)


def poison_message(qs: QueueService, queue: str, body: str, *, props: str | None = None, priority: int = 8) -> str:
    """Store a message below the API (none of its checks), as an older server or another program could have.

    Returns its message id.
    """
    mid, now = new_message_id(), qs.clock()
    params: dict[str, Any] = {
        "queue": queue,
        "message_id": mid,
        "body": body,
        "body_md5": body_md5(body),
        "priority": priority,
        "enqueue_ms": now,
        "visible_ms": now,
        "expire_ms": now + 3600_000,
        "props": props,
    }
    with qs.db.write() as tx:
        tx.raw_count(qs.queries["insert_message"], params)
    return mid


def poison_delivery(ts: TopicService, topic: str, subscription: str, body: str) -> None:
    """Store a pending push below the API, as an older server could have."""
    params = {
        "topic": topic,
        "subscription": subscription,
        "message_id": new_message_id(),
        "body": body,
        "body_md5": body_md5(body),
        "tag": None,
        "publish_ms": ts.clock(),
    }
    with ts.db.write() as tx:
        tx.raw_count(ts.queries["insert_delivery"], params)


def push_test_server(data_dir: Path) -> Iterator[ServerProcess]:
    """A real server whose push retries are 100 times faster (``TIDEGATE_PUSH_RETRY_SCALE``), for a fixture."""
    srv = ServerProcess(data_dir, env={**TEST_KEYS, "TIDEGATE_PUSH_RETRY_SCALE": "0.01"})
    srv.start()
    yield srv
    srv.stop()


def root_client(server: ServerProcess) -> Iterator[MnsClient]:
    """An MNS client of ``server`` with the test root key, for a fixture."""
    c = MnsClient(server.url, TEST_KEYS["TIDEGATE_ACCESS_KEY_ID"], TEST_KEYS["TIDEGATE_ACCESS_KEY_SECRET"])
    yield c
    c.close()
