"""The server's log output: one handler on stderr, as text or as JSON lines; the access log's logger.

Text lines read ``2026-12-01T20:38:16.795Z WARNING tidegate.mq.push: message``. JSON lines are objects with
``time``, ``level``, ``logger`` and ``message``, then, where known, ``request_id``, ``flow`` and
``execution`` (from :mod:`tidegate.logctx`), the access log's fields and ``exception`` (the traceback).

Every line is one line: a message that holds a line break or another control character (a hostile queue
name or request path quoted in it) has it escaped, so no input can forge a log line.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from enum import StrEnum
from typing import Any, TextIO

from tidegate.logctx import EXECUTION, FLOW, REQUEST_ID

__all__ = ["ACCESS_LOGGER", "LogFormat", "LogLevel", "setup_logging"]

#: The logger of the access log (one line per request, ``--access-log``).
ACCESS_LOGGER = "tidegate.access"
#: The fields of :mod:`tidegate.logctx` and of the access log, copied to JSON lines when a record has them.
_CONTEXT = ("request_id", "flow", "execution")
_ACCESS_FIELDS = ("method", "path", "status", "duration_ms")


class LogLevel(StrEnum):
    """``--log-level``: the least severe level written."""

    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def number(self) -> int:
        """The :mod:`logging` level."""
        return int(getattr(logging, self.name))


class LogFormat(StrEnum):
    """``--log-format``."""

    TEXT = "text"
    JSON = "json"


def _iso(created: float) -> str:
    """``2026-12-01T20:38:16.795Z`` (UTC, milliseconds)."""
    seconds = int(created)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int((created - seconds) * 1000):03d}Z"


def _one_line(text: str) -> str:
    """``text`` with line breaks and other control characters escaped (``\\n``, ``\\x1b``…)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


class _Context(logging.Filter):
    """Copies the request, flow and execution of :mod:`tidegate.logctx` onto each record written."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):  # an access line brings its own
            record.request_id = REQUEST_ID.get()
        record.flow = FLOW.get()
        record.execution = EXECUTION.get()
        return True


class TextFormatter(logging.Formatter):
    """``TIME LEVEL LOGGER: message`` (the traceback, if any, on the following lines)."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_iso(record.created)} {record.levelname} {record.name}: {_one_line(record.getMessage())}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        elif record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": _iso(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in (*_CONTEXT, *_ACCESS_FIELDS):
            value = getattr(record, name, None)
            if value is not None:
                doc[name] = value
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        elif record.stack_info:
            doc["stack"] = self.formatStack(record.stack_info)
        return json.dumps(doc, default=str)  # ASCII: safe on any stream


def setup_logging(
    level: LogLevel, fmt: LogFormat, *, access_log: bool = False, stream: TextIO | None = None
) -> logging.Handler:
    """Send every log record of ``level`` and above to ``stream`` (stderr) in ``fmt``; return the handler.

    Replaces the root logger's handlers (a second call reconfigures). httpx's per-request INFO lines are
    written at debug level only; uvicorn's own lines are left to the server (it is told
    ``log_config=None``, so they come through this handler too). With ``access_log`` the access logger
    writes its INFO lines whatever ``level`` is.
    """
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == LogFormat.JSON else TextFormatter())
    handler.addFilter(_Context())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.number)
    # httpx writes one INFO line per request it sends (pushes, the deploy of --deploy): debug only.
    logging.getLogger("httpx").setLevel(logging.INFO if level == LogLevel.DEBUG else logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)  # connection events, many per request
    access = logging.getLogger(ACCESS_LOGGER)
    access.setLevel(logging.INFO if access_log else logging.CRITICAL + 1)
    return handler
