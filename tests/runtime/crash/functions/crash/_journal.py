"""Invocation journals shared by the stand-in functions: one file per (execution, step), under ``state/``.

Each invocation appends its task token (one line). Tokens are minted once per *attempt* and a re-run job
re-sends the same token, so "distinct tokens so far" is the attempt number and "lines with this token" is
how often that attempt was invoked — both survive a kill of the runtime because they live in files.
"""

from __future__ import annotations

import fcntl
from pathlib import Path

STATE = Path(__file__).resolve().parent / "state"


def record(execution: str, step: str, token: str) -> tuple[int, int]:
    """Append ``token`` to the journal; return ``(attempt, invocations of this attempt)``, from 1."""
    STATE.mkdir(exist_ok=True)
    path = STATE / f"{execution}.{step}.log"
    with path.open("a+", encoding="utf-8") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # duplicate invocations of one attempt may run concurrently
        f.seek(0)
        lines = f.read().split()
        f.write(token + "\n")
        f.flush()
    lines.append(token)
    distinct = list(dict.fromkeys(lines))
    return distinct.index(token) + 1, lines.count(token)
