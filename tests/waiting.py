"""Waiting for a condition with a deadline: the one helper tests use instead of sleeping.

A test never sleeps to let something happen: it states the condition it needs and waits for it, with a
deadline in seconds generous enough for a loaded 2-core machine (a passing test returns as soon as the
condition holds, so a long deadline costs nothing). Conditions in the store can wait on the store's
notifier, so they are re-checked at once when a commit notifies the channel::

    from tests.waiting import wait_until

    record = wait_until(lambda: store.get_execution("f", "e1") if ... else None, message="e1 ended")
    wait_until(lambda: job_done(), notifier=store.notifier, channel=WORK, message="the job to end")
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from tidegate.store import WORK, Notifier

T = TypeVar("T")

#: Default deadline: far above any wait a passing test needs, even on a loaded machine.
TIMEOUT_S = 30.0
#: Default pause between checks of a condition nothing notifies.
INTERVAL_S = 0.02


def wait_until(
    predicate: Callable[[], T | None],
    *,
    timeout: float = TIMEOUT_S,
    interval: float = INTERVAL_S,
    message: str | Callable[[], str] = "the condition",
    notifier: Notifier | None = None,
    channel: str = WORK,
) -> T:
    """Call ``predicate`` until it returns a truthy value, and return that value (never None).

    Exceptions of ``predicate`` propagate (a predicate may raise to give up early, e.g. when the process it
    waits on exited).

    Args:
        predicate: the condition; its truthy result is returned.
        timeout: seconds before giving up.
        interval: seconds between checks (with a ``notifier``: the longest wait for a notification before
            checking again, for changes nothing notifies).
        message: what is awaited, for the failure message (a callable is called when the wait fails, e.g.
            to show a server's log).
        notifier: check again as soon as ``channel`` is notified instead of after ``interval``.
        channel: the notifier channel (default: the store's work channel, notified by every commit).

    Raises:
        AssertionError: ``timeout`` passed first; the message names what was awaited and the last value.
    """
    deadline = time.monotonic() + timeout
    while True:
        since = notifier.seq() if notifier is not None else 0
        value = predicate()
        if value:
            return value
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            what = message() if callable(message) else message
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}; last value: {value!r}")
        if notifier is not None:
            notifier.wait(channel, min(interval, remaining), since=since)
        else:
            time.sleep(min(interval, remaining))  # the pause between two checks of the condition
