"""The ``tidegate`` command. Each subcommand lives in a module of its own and registers on :data:`main`."""

from __future__ import annotations

from tidegate.cli import backup as _backup  # noqa: F401  (registers the command)
from tidegate.cli import deploy as _deploy  # noqa: F401  (registers the command)
from tidegate.cli import env as _env  # noqa: F401  (registers the command)
from tidegate.cli import executions as _executions  # noqa: F401  (registers the command)
from tidegate.cli import queue as _queue  # noqa: F401  (registers the command)
from tidegate.cli import ram as _ram  # noqa: F401  (registers the command)
from tidegate.cli import run as _run  # noqa: F401  (registers the command)
from tidegate.cli import server as _server  # noqa: F401  (registers the command)
from tidegate.cli import task as _task  # noqa: F401  (registers the command)
from tidegate.cli import topic as _topic  # noqa: F401  (registers the command)
from tidegate.cli import validate as _validate  # noqa: F401  (registers the command)
from tidegate.cli import worker as _worker  # noqa: F401  (registers the command)
from tidegate.cli._app import main

__all__ = ["main"]
