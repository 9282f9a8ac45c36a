"""A background loop's failed rounds pause it longer and longer (bounded), with one log line per round."""

from __future__ import annotations

import logging

import pytest

from tidegate.runtime.backoff import FailureBackoff


def test_pauses_grow_to_the_cap_log_one_line_each_and_reset_after_a_good_round(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = logging.getLogger("tidegate.test-backoff")
    caplog.set_level(logging.INFO, logger=log.name)
    backoff = FailureBackoff(log, "the loop", first_s=0.5, max_s=4.0)
    pauses = [backoff.failed(OSError(f"down {i}")) for i in range(6)]
    assert pauses == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    records = [r for r in caplog.records if r.name == log.name]
    assert len(records) == 6 and [r.exc_info is not None for r in records] == [True] + [False] * 5
    assert records[2].getMessage() == "the loop failed (3 in a row, OSError: down 2); next round in 2 s"
    backoff.succeeded()
    assert caplog.records[-1].getMessage() == "the loop works again after 6 failed rounds"
    assert backoff.failed(OSError("again")) == 0.5
