"""LISTEN/NOTIFY wake-ups for the PostgreSQL store.

One dedicated connection per store LISTENs on the store's channel and forwards each payload (a logical
channel such as ``exec:42`` or ``q:orders``) to an in-process :class:`LocalNotifier`, which wakes only the
threads waiting on that channel (none, on a server no client of that queue or execution talks to). The work
channels (:data:`~tidegate.store.notify.LOCAL_CHANNELS`) never travel through PostgreSQL: they wake this
process only. If that connection
drops, the thread reconnects and wakes every waiter once, so they re-check the database instead of
sleeping through a notification lost with the connection.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from tidegate.store.notify import LOCAL_CHANNELS, LocalNotifier, Notifier

log = logging.getLogger(__name__)
_STOP = "__tidegate_stop__"


class PgNotifier(Notifier):
    """Channels shared by every process connected to the same database and schema."""

    def __init__(self, connect: Callable[[], Any], channel: str, send: Callable[[str], None]) -> None:
        self._connect = connect
        self._channel = channel
        self._send = send
        self._local = LocalNotifier()
        self._stopping = threading.Event()
        # LISTEN before returning, so no commit made after the store opens can go unnoticed; a failure
        # here surfaces to the caller instead of a background thread.
        first = self._listen()
        self._thread = threading.Thread(target=self._run, args=(first,), name=f"tidegate-listen-{channel}", daemon=True)
        self._thread.start()

    def notify(self, channel: str) -> None:
        """Send a notification through PostgreSQL (it reaches this process too); a work channel
        (:data:`LOCAL_CHANNELS`) wakes this process only."""
        if channel in LOCAL_CHANNELS:
            self._local.notify(channel)
        else:
            self._send(channel)

    def notify_here(self, channels: Iterable[str]) -> None:
        """Wake this process's waiters of ``channels`` (a commit's work channels)."""
        self._local.notify_many(set(channels))

    def seq(self) -> int:
        """Return a token to pass as ``since`` to :meth:`wait`."""
        return self._local.seq()

    def waiters(self, channel: str) -> int:
        """How many threads of this process are waiting on ``channel`` now."""
        return self._local.waiters(channel)

    def wait(self, channel: str, timeout_s: float, since: int | None = None) -> bool:
        """Block until ``channel`` is notified after ``since`` or ``timeout_s`` passes."""
        return self._local.wait(channel, timeout_s, since)

    def _listen(self) -> Any:
        conn = self._connect()
        try:
            conn.execute(f'LISTEN "{self._channel}"')
        except BaseException:
            conn.close()
            raise
        return conn

    def _run(self, conn: Any) -> None:
        backoff = 0.05
        while not self._stopping.is_set():
            try:
                if conn is None:
                    conn = self._listen()
                    self._local.wake_all()  # notifications may have been lost while disconnected
                backoff = 0.05
                with conn:
                    for note in conn.notifies():
                        if note.payload == _STOP and self._stopping.is_set():
                            return
                        if note.payload not in LOCAL_CHANNELS:  # another server's work is its own
                            self._local.notify(note.payload)
                conn = None
            except Exception:
                conn = None
                if self._stopping.is_set():
                    return
                # Waiters are woken once LISTEN is back (not now), so a woken waiter can rely on it.
                log.warning("LISTEN connection lost; reconnecting", exc_info=True)
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, 2.0)

    def close(self) -> None:
        """Stop the listening thread (wakes it with a final notification)."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        try:
            self._send(_STOP)
        except Exception:  # the listener also exits when its connection fails
            log.debug("could not send the stop notification", exc_info=True)
        self._thread.join(timeout=5)
