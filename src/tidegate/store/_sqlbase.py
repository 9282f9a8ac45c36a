"""What every part of the SQL store shares: its database, its clock, the schedules' log."""

from __future__ import annotations

import logging

from tidegate.clock import Clock
from tidegate.store.base import Store
from tidegate.store.database import Database
from tidegate.store.errors import FlowNotFound

log = logging.getLogger("tidegate.schedules")


def describe(exc: BaseException) -> str:
    """``Type: message`` of ``exc`` for one log line (truncated)."""
    return f"{type(exc).__name__}: {exc}"[:500]


def flow_not_found(name: str) -> FlowNotFound:
    """The error of a flow that does not exist."""
    return FlowNotFound(f"Flow '{name}' does not exist")


class SqlBase(Store):
    """The state of a SQL store: the :class:`Database` and the clock (the only source of "now")."""

    db: Database
    clock: Clock

    @property
    def database(self) -> Database:
        """The SQL database under the store (see :meth:`Store.database`)."""
        return self.db
