"""tidegate.store: durable executions, history, timers, tasks, jobs and schedules.

Open a store with :func:`open_store` (``sqlite:///path.db`` or ``postgresql://…``); every operation is a
domain operation of :class:`Store` and one database transaction. Other domains keep their tables in the
same database through the public SQL layer :mod:`tidegate.store.database` (``store.database``).
"""

from __future__ import annotations

from tidegate.store._open import PostgresStore, SqliteStore, open_database, open_store
from tidegate.store.base import ApplyNow, ComputeNext, Store
from tidegate.store.errors import (
    ExecutionAlreadyExists,
    ExecutionNotFound,
    FlowAlreadyExists,
    FlowNotFound,
    HistoryGap,
    InvalidPageToken,
    ScheduleAlreadyExists,
    ScheduleNotFound,
    UnreadableRecord,
    VersionConflict,
)
from tidegate.store.notify import JOBS, WORK, LocalNotifier, Notifier, execution_channel
from tidegate.store.records import (
    STATUS_PARAMS,
    Delivery,
    EffectOutcome,
    ExecutionRecord,
    FlowRecord,
    HistoryRow,
    HistoryWrite,
    InboxItem,
    JobRecord,
    JobWrite,
    NodeRecord,
    Page,
    Released,
    ScheduleRecord,
    TaskCompletion,
    TaskOpen,
    TaskRecord,
    TaskStatus,
    TimerWrite,
    TransitionWrite,
    TxEffect,
    WaitingTask,
    Work,
)

__all__ = [
    "JOBS",
    "STATUS_PARAMS",
    "WORK",
    "ApplyNow",
    "ComputeNext",
    "Delivery",
    "EffectOutcome",
    "ExecutionAlreadyExists",
    "ExecutionNotFound",
    "ExecutionRecord",
    "FlowAlreadyExists",
    "FlowNotFound",
    "FlowRecord",
    "HistoryGap",
    "HistoryRow",
    "HistoryWrite",
    "InboxItem",
    "InvalidPageToken",
    "JobRecord",
    "JobWrite",
    "LocalNotifier",
    "NodeRecord",
    "Notifier",
    "Page",
    "PostgresStore",
    "Released",
    "ScheduleAlreadyExists",
    "ScheduleNotFound",
    "ScheduleRecord",
    "SqliteStore",
    "Store",
    "TaskCompletion",
    "TaskOpen",
    "TaskRecord",
    "TaskStatus",
    "TimerWrite",
    "TransitionWrite",
    "TxEffect",
    "UnreadableRecord",
    "VersionConflict",
    "WaitingTask",
    "Work",
    "execution_channel",
    "open_database",
    "open_store",
]
