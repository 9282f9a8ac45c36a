"""Daemon threads that run synchronous handlers for an event loop.

Daemon threads, so that a worker that gave up on a stuck handler at shutdown (and released its message)
can still exit: the interpreter does not wait for them.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any

_Job = tuple["asyncio.Future[Any]", Callable[..., Any], tuple[Any, ...]] | None


def _set_result(fut: asyncio.Future[Any], value: Any) -> None:
    if not fut.done():
        fut.set_result(value)


def _set_exception(fut: asyncio.Future[Any], exc: BaseException) -> None:
    if not fut.done():
        fut.set_exception(exc)


class DaemonPool:
    """``size`` daemon threads taking jobs from one queue.

    Args:
        loop: the loop whose futures the jobs complete.
        size: the number of threads (started on first use).
        name: the threads' name prefix.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, size: int, name: str = "tidegate-handler") -> None:
        self._loop = loop
        self._size = size
        self._name = name
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []

    def run(self, fn: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        """Run ``fn(*args)`` in a thread; the future completes with its result or exception."""
        if not self._threads:
            for i in range(self._size):
                t = threading.Thread(target=self._serve, name=f"{self._name}-{i}", daemon=True)
                t.start()
                self._threads.append(t)
        fut: asyncio.Future[Any] = self._loop.create_future()
        self._jobs.put((fut, fn, args))
        return fut

    def _serve(self) -> None:
        loop = self._loop
        while (job := self._jobs.get()) is not None:
            fut, fn, args = job
            try:
                value = fn(*args)
            except BaseException as exc:  # handed to the awaiting coroutine
                done: tuple[Callable[..., None], Any] = (_set_exception, exc)
            else:
                done = (_set_result, value)
            try:
                loop.call_soon_threadsafe(done[0], fut, done[1])
            except RuntimeError:  # the loop is closed: the worker stopped and released this job's message
                return

    def shutdown(self) -> None:
        """Let idle threads end; busy ones end after their job (nobody waits for them)."""
        for _ in self._threads:
            self._jobs.put(None)
        self._threads.clear()
