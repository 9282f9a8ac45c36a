"""tidegate.mq: queues and topics on the store, push delivery, and the MNS wire codec (``mq.wire``).

See ``docs/mq.md``.
"""

from __future__ import annotations

from tidegate.mq.errors import (
    InvalidQueueArgument,
    InvalidQueueName,
    MessageNotExist,
    QueueAlreadyExist,
    QueueNameLengthError,
    QueueNotExist,
    ReceiptHandleError,
    SubscriptionAlreadyExist,
    SubscriptionNotExist,
    TopicAlreadyExist,
    TopicNotExist,
)
from tidegate.mq.push import PushWorker, start_push_worker
from tidegate.mq.queues import QueueService, queue_channel
from tidegate.mq.topics import TopicService

__all__ = [
    "InvalidQueueArgument",
    "InvalidQueueName",
    "MessageNotExist",
    "PushWorker",
    "QueueAlreadyExist",
    "QueueNameLengthError",
    "QueueNotExist",
    "QueueService",
    "ReceiptHandleError",
    "SubscriptionAlreadyExist",
    "SubscriptionNotExist",
    "TopicAlreadyExist",
    "TopicNotExist",
    "TopicService",
    "queue_channel",
    "start_push_worker",
]
