"""What a log line is about: the request, flow and execution being handled (leaf module).

The protocol handlers set :data:`REQUEST_ID` once they know a request's id; the driver and the executor
set :data:`FLOW` and :data:`EXECUTION` while they work on an execution (:func:`execution_scope`). The
server's log handler (``tidegate.cli.logs``) copies whatever is set onto each record, so a JSON log line
carries ``request_id``, ``flow`` and ``execution`` without every message repeating them.

Context variables follow the asyncio task of a request and the thread of a driver round; setting one costs
well under a microsecond, so the hot paths set them unconditionally.
"""

from __future__ import annotations

from contextvars import ContextVar, Token

__all__ = ["EXECUTION", "FLOW", "REQUEST_ID", "execution_scope"]

#: The id of the request being answered (the one its response carries), when known.
REQUEST_ID: ContextVar[str | None] = ContextVar("tidegate_request_id", default=None)
#: The name of the flow whose execution is being worked on.
FLOW: ContextVar[str | None] = ContextVar("tidegate_flow", default=None)
#: The name of the execution being worked on.
EXECUTION: ContextVar[str | None] = ContextVar("tidegate_execution", default=None)


class execution_scope:  # a lower-case name: used like a function, `with execution_scope(flow, name):`
    """Mark the log lines written inside the block as being about ``flow``/``execution``.

    Two context variable sets and resets: a few microseconds, once per execution the driver applies.
    """

    __slots__ = ("_execution", "_flow", "_tokens")
    _tokens: tuple[Token[str | None], Token[str | None]]

    def __init__(self, flow: str, execution: str) -> None:
        self._flow = flow
        self._execution = execution

    def __enter__(self) -> None:
        self._tokens = (FLOW.set(self._flow), EXECUTION.set(self._execution))

    def __exit__(self, *exc: object) -> None:
        flow_token, execution_token = self._tokens
        EXECUTION.reset(execution_token)
        FLOW.reset(flow_token)
