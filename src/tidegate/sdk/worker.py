"""The worker: long-poll a queue, run a handler per task message, report the result, delete the message.

One event loop per worker. A receiver long-polls for as many messages as there are free slots (up to 16 per
request); each message runs in a task of its own: its handler (async handlers on the loop, others in daemon
threads), then ReportTaskSucceeded or ReportTaskFailed, then its handle joins the deletes, which go out in
batches. While a handler runs longer than the heartbeat interval, its message's visibility is extended (and
ReportTaskHeartbeat sent where the service has it), so the message is not offered to another worker.
Semantics (retries, shutdown) are described in docs/sdk.md.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
import random
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from tidegate.sdk._http import Transport
from tidegate.sdk._pool import DaemonPool
from tidegate.sdk.config import ClientConfig
from tidegate.sdk.errors import ServiceError
from tidegate.sdk.fnf import FnfClient
from tidegate.sdk.mns import MAX_BATCH, MAX_WAIT_S, Message, MnsQueue
from tidegate.sdk.task import (
    _CURRENT,
    InvalidTaskMessage,
    Task,
    TaskFormat,
    encode_output,
    failure_of,
    parse_task,
)

__all__ = ["Handler", "Worker", "WorkerStats"]

log = logging.getLogger("tidegate.sdk")

#: A handler takes the task's payload and returns its output (or raises); it may be a coroutine function.
Handler = Callable[[Any], Any]
#: The visibility timeout assumed when the queue's cannot be read.
DEFAULT_VISIBILITY_S = 30
#: The error a success report becomes when the service refuses its output for good.
OUTPUT_REJECTED = "OutputRejected"
_TRANSIENT = (ServiceError, httpx.HTTPError)


@dataclass(slots=True)
class WorkerStats:
    """What a worker did so far."""

    received: int = 0
    #: Success and failure reports the service accepted.
    succeeded: int = 0
    failed: int = 0
    #: Reports answered TaskAlreadyCompleted (the message is deleted: the task is done).
    already_completed: int = 0
    #: Reports refused for good (a malformed or unknown token): logged, and the message deleted.
    rejected: int = 0
    #: Messages without a task token: logged and left in the queue.
    invalid: int = 0
    #: Messages made visible again without a report (shutdown, reports that kept failing).
    released: int = 0
    deleted: int = 0
    visibility_extensions: int = 0
    heartbeats: int = 0
    #: Requests that failed and were retried (receive, report, delete) or given up.
    errors: int = 0


class _Backoff:
    """Exponential delays with jitter: 0.1 s doubling up to ``cap``."""

    def __init__(self, cap: float = 30.0) -> None:
        self.cap = cap
        self.delay = 0.1

    def next(self) -> float:
        d = self.delay
        self.delay = min(self.cap, self.delay * 2)
        return d * random.uniform(0.5, 1.0)

    def reset(self) -> None:
        self.delay = 0.1


class _Held:
    """A message this worker holds: its current handle, its task, its heartbeats."""

    __slots__ = ("beats", "beats_stop", "handle", "message", "task", "timer", "token")

    def __init__(self, message: Message) -> None:
        self.message = message
        self.handle = message.receipt_handle
        self.token = ""
        self.task: asyncio.Task[None] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.beats: asyncio.Task[None] | None = None
        self.beats_stop: asyncio.Event | None = None


@dataclass(frozen=True, slots=True)
class _Outcome:
    output: str | None = None  # success
    error: str = ""
    cause: str = ""


class Worker:
    """Serve the task messages of one queue with a handler.

    Args:
        queue: the queue's name.
        handler: called with each task's payload (the message body's JSON object without the token field,
            by default); its return value is the task's output (None: ``{}``). It may be a coroutine
            function; others run in threads. Raising :class:`~tidegate.sdk.TaskFailed` reports that error
            and cause; any other exception reports its class name and message.
        concurrency: messages handled at once (1 to 1000).
        config: endpoints and credentials; default :meth:`ClientConfig.from_env`.
        wait_seconds: the long poll's wait (0 to 30 s); a graceful stop waits for the poll in flight.
        visibility_timeout: seconds a heartbeat keeps a message invisible; default the queue's
            VisibilityTimeout (read once at start), or 30 when that cannot be read.
        heartbeat_interval: seconds between heartbeats of a running task; default a third of the visibility
            timeout. Tasks that end sooner make no heartbeat.
        task_format: where the token and the payload are (:class:`TaskFormat`).
        shutdown_timeout: seconds a graceful stop lets running tasks finish before releasing their messages.
        report_retry_seconds: how long a report that fails for a transient reason (the service unreachable,
            5xx, throttling, credentials refused) is retried before its message is released.
    """

    def __init__(
        self,
        queue: str,
        handler: Handler,
        *,
        concurrency: int = 16,
        config: ClientConfig | None = None,
        wait_seconds: int = 10,
        visibility_timeout: int | None = None,
        heartbeat_interval: float | None = None,
        task_format: TaskFormat | None = None,
        shutdown_timeout: float = 30.0,
        report_retry_seconds: float = 300.0,
    ) -> None:
        if not 1 <= concurrency <= 1000:
            raise ValueError(f"concurrency must be 1 to 1000, not {concurrency}")
        if not 0 <= wait_seconds <= MAX_WAIT_S:
            raise ValueError(f"wait_seconds must be 0 to {MAX_WAIT_S}, not {wait_seconds}")
        if visibility_timeout is not None and not 1 <= visibility_timeout <= 43200:
            raise ValueError(f"visibility_timeout must be 1 to 43200 seconds, not {visibility_timeout}")
        if heartbeat_interval is not None and heartbeat_interval <= 0:
            raise ValueError(f"heartbeat_interval must be positive, not {heartbeat_interval}")
        if shutdown_timeout < 0 or report_retry_seconds < 0:
            raise ValueError("shutdown_timeout and report_retry_seconds must not be negative")
        self.queue = queue
        self.handler = handler
        self.concurrency = concurrency
        self.config = config or ClientConfig.from_env()
        self.wait_seconds = wait_seconds
        self.visibility_timeout = visibility_timeout
        self.heartbeat_interval = heartbeat_interval
        self.task_format = task_format or TaskFormat()
        self.shutdown_timeout = shutdown_timeout
        self.report_retry_seconds = report_retry_seconds
        self.stats = WorkerStats()
        self._is_async = inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
            getattr(handler, "__call__", None)  # noqa: B004  (an object whose __call__ is async)
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_requested = False
        self._forced = False
        self._stopping: asyncio.Event | None = None
        self._receiver: asyncio.Task[None] | None = None
        self._held: set[_Held] = set()
        self._slot_free: asyncio.Event | None = None
        self._deletes: list[str] = []
        self._delete_wake: asyncio.Event | None = None
        self._closing = False
        self._mns: MnsQueue | None = None
        self._fnf: FnfClient | None = None
        self._pool: DaemonPool | None = None
        self._lock = threading.Lock()

    # --- running and stopping ------------------------------------------------------------------------

    @property
    def heartbeat_rpc_supported(self) -> bool:
        """False once the service answered that it has no ReportTaskHeartbeat (Alibaba Cloud has none)."""
        return self._fnf is None or self._fnf.heartbeat_supported

    def run(self) -> WorkerStats:
        """Serve until :meth:`stop` (or SIGTERM / SIGINT, when called in the main thread); return the stats.

        The first signal stops gracefully (running tasks finish, up to ``shutdown_timeout``); a second one
        stops at once (running tasks' messages are released).
        """
        return asyncio.run(self.serve(handle_signals=threading.current_thread() is threading.main_thread()))

    def stop(self, now: bool = False) -> None:
        """Stop serving, from any thread: gracefully, or ``now`` (release what is running)."""
        with self._lock:
            self._stop_requested = True
            self._forced = self._forced or now
            loop = self._loop
        if loop is not None:
            try:
                loop.call_soon_threadsafe(self._begin_stop, now)
            except RuntimeError:  # the loop already ended
                pass

    def _begin_stop(self, now: bool) -> None:
        assert self._stopping is not None
        if not self._stopping.is_set():
            self._stopping.set()
            assert self._slot_free is not None
            self._slot_free.set()  # a receiver waiting for a free slot looks at the stop
            log.info("stopping: no new messages; %d running task(s) may finish", len(self._held))
        if now:
            self._forced = True
            if self._receiver is not None:
                self._receiver.cancel()
            for held in list(self._held):
                if held.task is not None:
                    held.task.cancel()

    def _on_signal(self) -> None:
        assert self._stopping is not None
        self._begin_stop(now=self._stopping.is_set())

    async def serve(self, handle_signals: bool = False) -> WorkerStats:
        """Serve in the running event loop until stopped; return the stats.

        Args:
            handle_signals: stop on SIGTERM and SIGINT (gracefully; at once on the second signal).
        """
        loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._slot_free = asyncio.Event()
        self._delete_wake = asyncio.Event()
        with self._lock:
            self._loop = loop
            stop_early, now = self._stop_requested, self._forced
        if stop_early:
            self._begin_stop(now)
        if handle_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self._on_signal)
        try:
            # Requests at once: a long poll, a report and a heartbeat per task, a delete.
            with Transport(2 * self.concurrency + 2) as http:
                self._mns = MnsQueue(http, self.config, self.queue)
                self._fnf = FnfClient(http, self.config)
                if not self._is_async:
                    self._pool = DaemonPool(loop, self.concurrency)
                deleter = loop.create_task(self._delete_loop())
                try:
                    self._receiver = loop.create_task(self._receive_loop())
                    try:
                        await self._receiver
                    except asyncio.CancelledError:
                        if not self._forced:
                            raise
                    await self._drain()
                finally:
                    self._closing = True
                    self._delete_wake.set()
                    await deleter
                    if self._pool is not None:
                        self._pool.shutdown()
        finally:
            if handle_signals:
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(sig)
            with self._lock:
                self._loop = None
        log.info("stopped: %s", self.stats)
        return self.stats

    async def _pause(self, seconds: float) -> None:
        """Sleep ``seconds``, or less when a stop begins."""
        assert self._stopping is not None
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            pass

    async def _drain(self) -> None:
        """Let running tasks finish (up to ``shutdown_timeout``); cancel the rest, which releases them."""
        pending = {h.task for h in self._held if h.task is not None}
        if not pending:
            return
        log.info("waiting up to %.0f s for %d running task(s)", self.shutdown_timeout, len(pending))
        _, late = await asyncio.wait(pending, timeout=self.shutdown_timeout)
        for t in late:
            t.cancel()
        if late:
            log.warning(
                "%d task(s) still running after %.0f s: their messages are released", len(late), self.shutdown_timeout
            )
            await asyncio.gather(*late, return_exceptions=True)

    # --- receiving --------------------------------------------------------------------------------------

    async def _resolve_visibility(self) -> None:
        """Read the queue's VisibilityTimeout when none was given (retrying while the queue is unreachable)."""
        assert self._mns is not None and self._stopping is not None
        backoff = _Backoff()
        while self.visibility_timeout is None and not self._stopping.is_set():
            try:
                self.visibility_timeout = await self._mns.visibility_timeout()
            except ServiceError as exc:
                if exc.status in (401, 403):  # a worker's policy may not allow GetQueueAttributes
                    log.warning(
                        "cannot read the queue's VisibilityTimeout (%s); assuming %d s (set visibility_timeout)",
                        exc,
                        DEFAULT_VISIBILITY_S,
                    )
                    self.visibility_timeout = DEFAULT_VISIBILITY_S
                    break
                log.warning("queue %s: %s; retrying", self.queue, exc)
                await self._pause(backoff.next())
            except httpx.HTTPError as exc:
                log.warning("queue %s unreachable (%s); retrying", self.queue, exc)
                await self._pause(backoff.next())
        if self.heartbeat_interval is None and self.visibility_timeout is not None:
            self.heartbeat_interval = max(0.2, self.visibility_timeout / 3)

    async def _receive_loop(self) -> None:
        assert self._mns is not None and self._stopping is not None and self._slot_free is not None
        await self._resolve_visibility()
        backoff = _Backoff()
        stopping, slot_free, mns = self._stopping, self._slot_free, self._mns
        loop = asyncio.get_running_loop()
        while not stopping.is_set():
            free = self.concurrency - len(self._held)
            if free <= 0:
                slot_free.clear()
                await slot_free.wait()
                continue
            try:
                messages = await mns.receive(min(free, MAX_BATCH), self.wait_seconds)
            except _TRANSIENT as exc:
                self.stats.errors += 1
                delay = backoff.next()
                log.warning("receive from %s failed (%s); retrying in %.1f s", self.queue, exc, delay)
                await self._pause(delay)
                continue
            backoff.reset()
            if stopping.is_set():  # the stop came during the poll: give these back at once
                for m in messages:
                    await self._release(m.receipt_handle, 0)
                break
            for m in messages:
                held = _Held(m)
                self._held.add(held)
                self.stats.received += 1
                held.task = loop.create_task(self._process(held))

    # --- one message ------------------------------------------------------------------------------------

    async def _process(self, held: _Held) -> None:
        loop = asyncio.get_running_loop()
        try:
            m = held.message
            try:
                task = parse_task(m.body, self.task_format, m.message_id, m.dequeue_count)
            except InvalidTaskMessage as exc:
                self.stats.invalid += 1
                log.error("%s; the message stays in the queue", exc)
                return
            held.token = task.token
            assert self.heartbeat_interval is not None
            held.timer = loop.call_later(self.heartbeat_interval, self._start_beats, held)
            try:
                outcome = await self._run_handler(task)
                done = await self._report(task, outcome)
            finally:
                await self._stop_beats(held)
            if done:
                self._deletes.append(held.handle)
                assert self._delete_wake is not None
                self._delete_wake.set()
            else:
                await self._release(held.handle, 0)
        except asyncio.CancelledError:  # a stop gave up on this task: its message is offered again now
            await self._stop_beats(held, cancel=True)
            await self._release(held.handle, 0)
        finally:
            self._held.discard(held)
            assert self._slot_free is not None
            self._slot_free.set()

    async def _run_handler(self, task: Task) -> _Outcome:
        _CURRENT.set(task)
        try:
            if self._is_async:
                result = await self.handler(task.input)
            else:
                assert self._pool is not None
                ctx = contextvars.copy_context()
                result = await self._pool.run(ctx.run, self.handler, task.input)
                if inspect.isawaitable(result):
                    result = await result
            return _Outcome(output=encode_output(result))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            error, cause = failure_of(exc)
            log.info(
                "task of message %s failed: %s: %s",
                task.message_id,
                error,
                cause,
                exc_info=log.isEnabledFor(logging.DEBUG),
            )
            return _Outcome(error=error, cause=cause)

    async def _report(self, task: Task, outcome: _Outcome) -> bool:
        """Report the outcome; True when the message is done with (delete it), False to release it."""
        assert self._fnf is not None
        fnf = self._fnf
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.report_retry_seconds
        backoff = _Backoff()
        while True:
            try:
                if outcome.output is not None:
                    await fnf.report_succeeded(task.token, outcome.output)
                    self.stats.succeeded += 1
                else:
                    await fnf.report_failed(task.token, outcome.error, outcome.cause)
                    self.stats.failed += 1
                return True
            except ServiceError as exc:
                if exc.code == "TaskAlreadyCompleted":
                    self.stats.already_completed += 1
                    return True
                if not exc.retryable:
                    if outcome.output is not None:  # the output was refused: the flow learns it as a failure
                        log.warning("message %s: the success report was refused (%s)", task.message_id, exc)
                        outcome = _Outcome(error=OUTPUT_REJECTED, cause=f"{exc.code}: {exc.message}"[:4096])
                        continue
                    self.stats.rejected += 1
                    log.error("message %s: the report was refused (%s); the message is deleted", task.message_id, exc)
                    return True
                failure: Exception = exc
            except httpx.HTTPError as exc:
                failure = exc
            self.stats.errors += 1
            delay = backoff.next()
            if loop.time() + delay > deadline:
                log.error("message %s: the report failed until the deadline (%s); released", task.message_id, failure)
                return False
            log.warning("message %s: the report failed (%s); retrying in %.1f s", task.message_id, failure, delay)
            await asyncio.sleep(delay)

    async def _release(self, handle: str, delay_s: int) -> None:
        """Make a held message visible again after ``delay_s`` (best effort: else after its timeout)."""
        assert self._mns is not None
        try:
            await self._mns.change_visibility(handle, delay_s)
            self.stats.released += 1
        except _TRANSIENT as exc:
            self.stats.errors += 1
            log.warning("could not release a message (%s); it is offered again after its visibility timeout", exc)

    # --- heartbeats ---------------------------------------------------------------------------------------

    def _start_beats(self, held: _Held) -> None:
        held.timer = None
        held.beats_stop = asyncio.Event()
        held.beats = asyncio.get_running_loop().create_task(self._beat_loop(held, held.beats_stop))

    async def _stop_beats(self, held: _Held, cancel: bool = False) -> None:
        if held.timer is not None:
            held.timer.cancel()
            held.timer = None
        if held.beats is not None:
            assert held.beats_stop is not None
            held.beats_stop.set()  # a visibility change in flight completes: its new handle is the one to delete
            if cancel:
                held.beats.cancel()
            await asyncio.gather(held.beats, return_exceptions=True)
            held.beats = None

    async def _beat_loop(self, held: _Held, stop: asyncio.Event) -> None:
        assert self._mns is not None and self._fnf is not None and self.visibility_timeout is not None
        assert self.heartbeat_interval is not None
        while not stop.is_set():
            try:
                held.handle = await self._mns.change_visibility(held.handle, self.visibility_timeout)
                self.stats.visibility_extensions += 1
            except _TRANSIENT as exc:
                self.stats.errors += 1
                log.warning("message %s: extending its visibility failed (%s)", held.message.message_id, exc)
            if self._fnf.heartbeat_supported:
                try:
                    if await self._fnf.heartbeat(held.token):
                        self.stats.heartbeats += 1
                except _TRANSIENT as exc:
                    log.debug("message %s: ReportTaskHeartbeat failed (%s)", held.message.message_id, exc)
            try:
                await asyncio.wait_for(stop.wait(), self.heartbeat_interval)
            except TimeoutError:
                pass

    # --- deletes ---------------------------------------------------------------------------------------------

    async def _delete_loop(self) -> None:
        """Delete done messages in batches of up to 16 (a batch collects while the previous one is sent)."""
        assert self._mns is not None and self._delete_wake is not None
        wake, mns = self._delete_wake, self._mns
        backoff = _Backoff(cap=5.0)
        give_up_at: float | None = None
        loop = asyncio.get_running_loop()
        while True:
            if not self._deletes:
                if self._closing:
                    return
                wake.clear()
                await wake.wait()
                continue
            batch, self._deletes = self._deletes[:MAX_BATCH], self._deletes[MAX_BATCH:]
            try:
                failures = await mns.delete(batch)
            except _TRANSIENT as exc:
                self.stats.errors += 1
                if self._closing:
                    give_up_at = give_up_at or loop.time() + max(5.0, self.shutdown_timeout)
                    if loop.time() > give_up_at:
                        log.warning(
                            "giving up %d delete(s) (%s): the messages come back and are deleted then",
                            len(self._deletes) + len(batch),
                            exc,
                        )
                        return
                self._deletes[:0] = batch
                delay = backoff.next()
                log.warning("delete failed (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                continue
            backoff.reset()
            self.stats.deleted += len(batch) - len(failures)
            for f in failures:
                log.debug("delete refused for a handle (%s: %s): the message was received again", f.code, f.message)
