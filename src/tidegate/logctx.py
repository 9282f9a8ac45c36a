"""What a log line is about: the request, flow and execution being handled (leaf module).

The protocol handlers set :data:`REQUEST_ID` once they know a request's id; the driver and the executor
set :data:`FLOW` and :data:`EXECUTION` while they work on an execution (:func:`execution_scope`). The
server's log handler (``tidegate.cli.logs``) copies whatever is set onto each record, so a JSON log line
carries ``request_id``, ``flow`` and ``execution`` without every message repeating them.

Context variables follow the asyncio task of a request and the thread of a driver round; setting one costs
well under a microsecond, so the hot paths set them unconditionally.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["EXECUTION", "FLOW", "REQUEST_ID", "execution_scope"]

#: The id of the request being answered (the one its response carries), when known.
REQUEST_ID: ContextVar[str | None] = ContextVar("tidegate_request_id", default=None)
#: The name of the flow whose execution is being worked on.
FLOW: ContextVar[str | None] = ContextVar("tidegate_flow", default=None)
#: The name of the execution being worked on.
EXECUTION: ContextVar[str | None] = ContextVar("tidegate_execution", default=None)


@contextmanager
def execution_scope(flow: str, execution: str) -> Iterator[None]:
    """Mark the log lines written inside the block as being about ``flow``/``execution``."""
    flow_token = FLOW.set(flow)
    execution_token = EXECUTION.set(execution)
    try:
        yield
    finally:
        EXECUTION.reset(execution_token)
        FLOW.reset(flow_token)
