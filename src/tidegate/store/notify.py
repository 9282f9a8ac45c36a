"""Wake-ups without sleep-polling.

A :class:`Notifier` is a set of named channels. ``seq()`` returns a token; ``wait(channel, timeout,
since=token)`` returns as soon as the channel was notified after the token was taken, so a caller that
checks the store between ``seq()`` and ``wait()`` can never miss a wake-up (the classic lost-wake-up race).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections import OrderedDict

WORK = "work"
JOBS = "jobs"
#: Channels that wake the committing process only, never other servers sharing a PostgreSQL store: queued
#: events, timers and jobs are done by the server that wrote them, so an idle server costs nothing per
#: execution. The others still find that work within a second (their waits are never longer, and they
#: compute them from the store), which is what takes over after a server stops or dies.
LOCAL_CHANNELS = frozenset({WORK, JOBS})


def execution_channel(execution_id: int) -> str:
    """Return the channel notified when execution ``execution_id`` ends."""
    return f"exec:{execution_id}"


class Notifier(ABC):
    """Named wake-up channels shared by the threads (and, for PostgreSQL, the processes) of a store."""

    @abstractmethod
    def notify(self, channel: str) -> None:
        """Wake every waiter of ``channel``."""

    @abstractmethod
    def seq(self) -> int:
        """Return a token to pass as ``since`` to :meth:`wait`."""

    @abstractmethod
    def waiters(self, channel: str) -> int:
        """How many threads of this process are waiting on ``channel`` now (for operators and tests)."""

    @abstractmethod
    def wait(self, channel: str, timeout_s: float, since: int | None = None) -> bool:
        """Block until ``channel`` is notified after ``since`` (default: now) or ``timeout_s`` passes.

        Returns:
            True when notified, False on timeout.
        """


class LocalNotifier(Notifier):
    """In-process channels: one lock, and a condition per channel that has waiters.

    Every notification gets a global sequence number; the last number per channel is kept for the most
    recent ``capacity`` channels (per-execution channels would otherwise grow without bound). A channel
    evicted from that window answers conservatively: it reports a notification when anything newer than
    ``since`` was evicted, which at worst is a spurious wake-up, never a lost one.

    A notification wakes only the waiters of its channels: a long poll on one queue does not wake the
    driver, the executor or the pollers of other queues (with one shared condition each of them would wake,
    take the GIL and go back to sleep, on every commit).
    """

    def __init__(self, capacity: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._counter = 0
        self._last: OrderedDict[str, int] = OrderedDict()
        self._evicted_max = 0
        self._capacity = capacity
        self._waiting: dict[str, _Waiting] = {}  # channels with waiters

    def notify(self, channel: str) -> None:
        """Wake every waiter of ``channel``."""
        self.notify_many((channel,))

    def notify_many(self, channels: tuple[str, ...] | list[str] | set[str]) -> None:
        """Notify several channels under one lock acquisition."""
        if not channels:
            return
        with self._lock:
            for channel in channels:
                self._counter += 1
                self._last[channel] = self._counter
                self._last.move_to_end(channel)
                waiting = self._waiting.get(channel)
                if waiting is not None:
                    waiting.cond.notify_all()
            while len(self._last) > self._capacity:
                _, seq = self._last.popitem(last=False)
                self._evicted_max = max(self._evicted_max, seq)

    def wake_all(self) -> None:
        """Wake every waiter of every channel (used when notifications may have been lost)."""
        with self._lock:
            self._counter += 1
            self._evicted_max = self._counter
            self._last.clear()
            for waiting in self._waiting.values():
                waiting.cond.notify_all()

    def seq(self) -> int:
        """Return a token to pass as ``since`` to :meth:`wait`."""
        with self._lock:
            return self._counter

    def waiters(self, channel: str) -> int:
        """How many threads are waiting on ``channel`` now."""
        with self._lock:
            waiting = self._waiting.get(channel)
            return 0 if waiting is None else waiting.count

    def _changed(self, channel: str, since: int) -> bool:
        last = self._last.get(channel)
        if last is None:
            return self._evicted_max > since
        return last > since

    def wait(self, channel: str, timeout_s: float, since: int | None = None) -> bool:
        """Block until ``channel`` is notified after ``since`` or ``timeout_s`` passes."""
        with self._lock:
            start = self._counter if since is None else since
            if self._changed(channel, start):
                return True
            if timeout_s <= 0:
                return False
            waiting = self._waiting.get(channel)
            if waiting is None:
                waiting = self._waiting[channel] = _Waiting(threading.Condition(self._lock))
            waiting.count += 1
            try:
                return waiting.cond.wait_for(lambda: self._changed(channel, start), timeout=timeout_s)
            finally:
                waiting.count -= 1
                if not waiting.count:
                    del self._waiting[channel]


class _Waiting:
    """The condition of one channel (on the notifier's lock) and how many threads wait on it."""

    __slots__ = ("cond", "count")

    def __init__(self, cond: threading.Condition) -> None:
        self.cond = cond
        self.count = 0
