"""Errors of the message service. ``code`` is the MNS error code; its status is ``wire.MNS_ERRORS[code]``."""

from __future__ import annotations

from tidegate.errors import QueueError


class InvalidQueueArgument(QueueError):
    """The value of a parameter is invalid."""

    code = "InvalidArgument"


class InvalidQueueName(QueueError):
    """The queue name is invalid."""

    code = "InvalidQueueName"


class QueueNameLengthError(QueueError):
    """The queue name is too long."""

    code = "QueueNameLengthError"


class QueueNotExist(QueueError):
    """The queue name you provided is not exist."""

    code = "QueueNotExist"


class QueueAlreadyExist(QueueError):
    """The queue you want to create is already exist."""

    code = "QueueAlreadyExist"


class MessageNotExist(QueueError):
    """Message not exist."""

    code = "MessageNotExist"


class ReceiptHandleError(QueueError):
    """The receipt handle you provide is not valid."""

    code = "ReceiptHandleError"


class TopicNotExist(QueueError):
    """The topic you provided does not exist."""

    code = "TopicNotExist"


class TopicAlreadyExist(QueueError):
    """The topic you want to create already exists."""

    code = "TopicAlreadyExist"


class SubscriptionNotExist(QueueError):
    """The subscription you provided does not exist."""

    code = "SubscriptionNotExist"


class SubscriptionAlreadyExist(QueueError):
    """The subscription you want to create already exists."""

    code = "SubscriptionAlreadyExist"
