"""The driver: claim executions with due work, apply the engine, commit, in batches.

One call of :meth:`Driver.run_once` claims up to ``batch`` executions (each leased, so no other process
works on them), applies every due inbox item of each through the pure engine, and commits all resulting
transitions in one store transaction (group commit). Effects outside the store are jobs committed in the
same transaction; the executor runs them afterwards (at least once).

An execution whose events cannot be applied (the engine, the flow loader or the store raises) is tried
again after a growing back-off (1 s, 2 s, 4 s, 8 s): the failure count and the next attempt's time are in
its row, so a restart keeps them. After :data:`APPLY_ATTEMPTS` failures it ends ``Failed`` with
``FnF.RuntimeError`` -- written without the engine, which is what fails (:func:`end_without_engine`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace

from tidegate import engine, metrics
from tidegate.auth.tasktoken import TaskTokenSigner
from tidegate.engine import (
    RUNTIME_ERROR,
    START,
    TERMINAL,
    ExecutionState,
    ExecutionStatus,
    StaleEvent,
    TaskFailed,
    TaskSucceeded,
)
from tidegate.errors import TidegateError
from tidegate.flow.model import Flow
from tidegate.logctx import execution_scope
from tidegate.runtime.flows import FlowCache
from tidegate.runtime.tokens import token_execution
from tidegate.runtime.translate import Pending, Transactional, ended_write, to_write
from tidegate.store import (
    ExecutionRecord,
    Store,
    TaskCompletion,
    TransitionWrite,
    UnreadableRecord,
    VersionConflict,
    Work,
)

log = logging.getLogger("tidegate.runtime")

APPLY_ATTEMPTS = 5
"""Failed attempts at applying an execution's events before it ends ``Failed``."""
APPLY_BACKOFF_MS = 1000
"""The wait after the first failed attempt; it doubles after each further one."""
MAX_FAILURE_TEXT = 1000
"""Characters of an exception's text kept in a cause or a log line."""


def describe_failure(exc: BaseException) -> str:
    """``Type: message`` of ``exc``, truncated to :data:`MAX_FAILURE_TEXT` characters (storable text)."""
    # A lone surrogate in the message (from the very input that fails) could not be stored: escape it.
    text = f"{type(exc).__name__}: {exc}".encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= MAX_FAILURE_TEXT else text[: MAX_FAILURE_TEXT - 1] + "…"


def parent_completion(
    store: Store, signer: TaskTokenSigner, ex: ExecutionRecord, state: ExecutionState | None, error: str, cause: str
) -> TaskCompletion | None:
    """The completion of the parent's task when ``ex``, started with a callback token, has ended.

    ``state`` is the engine's terminal state, or None when the execution ended without the engine (then it
    failed or stopped with ``error`` and ``cause``). None when there is no token or it names no execution.
    """
    if not ex.callback_token:
        return None
    try:
        claims = signer.claims(ex.callback_token)
        parent = token_execution(store, claims)
    except TidegateError:
        parent = None
    if parent is None:
        log.warning("execution %s/%s: its callback token names no execution; not reported", ex.flow_name, ex.name)
        return None
    task_key = claims.task_key
    if state is not None and state.status == ExecutionStatus.SUCCEEDED:
        event = TaskSucceeded(task_key=task_key, output=state.output or {}).to_dict()
    else:
        if state is not None:
            timed_out = state.status == ExecutionStatus.TIMED_OUT
            error, cause = state.error or ("FnF.TaskTimeout" if timed_out else ""), state.cause or ""
        event = TaskFailed(task_key=task_key, error=error, cause=cause).to_dict()
    return TaskCompletion(execution_id=parent.id, task_key=task_key, event=event)


def end_without_engine(
    store: Store,
    signer: TaskTokenSigner,
    ex: ExecutionRecord,
    status: ExecutionStatus,
    error: str,
    cause: str,
    clock: Callable[[], int],
) -> ExecutionRecord | None:
    """End active execution ``ex`` as ``status`` in one store transaction, whatever its events or lease.

    Used by StopExecution and for an execution whose events cannot be applied. Returns the ended record,
    or None when it had ended already. A driver applying it meanwhile finds its version changed and drops
    its work.
    """
    completion = parent_completion(store, signer, ex, None, error, cause)  # read outside the write
    completions = [completion] if completion is not None else []
    return store.end_execution(ex.id, lambda row: ended_write(row, status, error, cause, clock(), completions))


class Driver:
    """Applies inbox items to executions and commits the transitions."""

    def __init__(
        self,
        store: Store,
        signer: TaskTokenSigner,
        *,
        owner: str,
        clock: Callable[[], int],
        flows: FlowCache | None = None,
        batch: int = 64,
        lease_ms: int = 10_000,
        transactional: Transactional | None = None,
        callback_timeout_s: int = 0,
    ) -> None:
        self.store = store
        #: The timeout of a waitForCallback attempt whose step sets no timeoutSeconds (0: none); it applies
        #: to the attempts opened from now on.
        self.callback_timeout_s = callback_timeout_s
        self.signer = signer
        self.owner = owner
        self.clock = clock
        self.flows = flows or FlowCache()
        self.batch = batch
        self.lease_ms = lease_ms
        self.transactional: Transactional = transactional or {}

    def run_once(self) -> int:
        """Move due timers, claim a batch of executions and commit their transitions.

        Returns:
            How many executions were claimed (0 when there was nothing to do).
        """
        now = self.clock()
        due = self.store.next_timer_ms()  # one read: skips both write transactions when nothing is due
        if due is None or due > now:
            return 0
        if metrics.enabled():
            metrics.driver_lag.observe((now - due) / 1000)
        self.store.move_due_timers(now)
        works = self.store.claim_work(self.owner, self.batch, self.lease_ms, now)
        if not works:
            return 0
        writes = []
        for work in works:
            write = self._apply_safely(work, now)
            if write is not None:
                writes.append(write)
        self._commit(writes, {w.execution.id: w.execution for w in works}, now)
        return len(works)

    def apply_now(self, work: Work) -> TransitionWrite | None:
        """Apply ``work`` for a store call that commits it in its own transaction (:data:`tidegate.store.ApplyNow`).

        A started execution, a reported task or a finished job moves on within the request's transaction,
        without waiting for this loop. A failure is logged (one line) and returns None: the events stay
        queued and the loop applies them, with its bounded retries if it fails too.

        A child flow started with a callback token is left to the loop too: when it ends, reporting to its
        parent reads the parent from the store, which must not happen inside another open transaction (on
        PostgreSQL it would take a second pooled connection while holding one).
        """
        ex = work.execution
        if ex.callback_token:
            return None
        with execution_scope(ex.flow_name, ex.name):
            try:
                return self._apply(work, self.clock())
            except Exception as exc:
                log.warning(
                    "execution %s/%s: applying its events failed (%s); left to the driver",
                    ex.flow_name,
                    ex.name,
                    describe_failure(exc),
                )
                return None

    # --- applying ----------------------------------------------------------------------------------

    def _apply_safely(self, work: Work, now: int) -> TransitionWrite | None:
        with execution_scope(work.execution.flow_name, work.execution.name):
            try:
                return self._apply(work, now)
            except Exception as exc:  # a bug must not stop every other execution: retry this one later, or end it
                self._failed(work.execution, exc, now)
                return None

    def _failed(self, ex: ExecutionRecord, exc: Exception, now: int) -> None:
        """One failed attempt at applying ``ex``: one log line, then a back-off or, after the last, Failed."""
        attempt = ex.apply_failures + 1
        what = describe_failure(exc)
        try:
            if attempt >= APPLY_ATTEMPTS:
                log.error(
                    "execution %s/%s: applying its events failed (attempt %d of %d, %s); it ends Failed",
                    *(ex.flow_name, ex.name, attempt, APPLY_ATTEMPTS, what),
                )
                cause = f"applying the execution's events failed {attempt} times: {what}"
                end_without_engine(
                    self.store, self.signer, ex, ExecutionStatus.FAILED, RUNTIME_ERROR, cause, self.clock
                )
                return
            delay_ms = APPLY_BACKOFF_MS << (attempt - 1)
            log.warning(
                "execution %s/%s: applying its events failed (attempt %d of %d, %s); next attempt in %g s",
                *(ex.flow_name, ex.name, attempt, APPLY_ATTEMPTS, what, delay_ms / 1000),
                exc_info=exc if attempt == 1 else None,  # the traceback once, not on every attempt
            )
            self.store.defer(ex.id, self.owner, now + delay_ms)
        except Exception as store_exc:  # the store itself fails: the lease expires and the attempt comes again
            log.error(
                "execution %s/%s: recording the failure failed (%s)", ex.flow_name, ex.name, describe_failure(store_exc)
            )

    def _apply(self, work: Work, now: int) -> TransitionWrite:
        ex = work.execution
        if work.unreadable:
            raise UnreadableRecord(work.unreadable)
        flow = self.flows.get(ex.definition, source=ex.flow_name)

        def minter(task_key: str) -> str:
            return self.signer.mint(ex.flow_name, ex.name, task_key, execution_id=ex.id, flow_id=ex.flow_id)

        p = Pending(execution=ex, state=ExecutionState.from_dict(ex.state) if ex.state else None)
        for item in work.inbox:
            p.consumed.append(item.id)
            if p.state is not None and p.state.status in TERMINAL:
                continue  # consumed without effect: the execution ended earlier in this batch
            t = self._apply_one(flow, ex.flow_name, ex.name, ex.input, p.state, item.event, now, minter)
            if t is None:
                continue
            p.state = t.state
            p.events.extend(t.events)
            p.commands.extend(t.commands)
        write = to_write(p, now, self.transactional)
        if p.state is not None and log.isEnabledFor(logging.DEBUG):
            log.debug(
                "execution %s/%s: %d event(s) applied, %d history event(s), status %s",
                *(ex.flow_name, ex.name, len(p.consumed), len(p.events), p.state.status),
            )
        if p.state is not None and p.state.status in TERMINAL and ex.callback_token:
            write = self._with_parent_callback(write, ex, p.state)
        return write

    def _apply_one(
        self,
        flow: Flow,
        flow_name: str,
        name: str,
        input_text: str,
        state: ExecutionState | None,
        event: dict[str, object],
        now: int,
        minter: engine.TokenMinter,
    ) -> engine.Transition | None:
        if event.get("type") == START:
            if state is not None:
                return None  # a duplicate start is harmless
            return engine.start(
                flow,
                flow_name=flow_name,
                execution_name=name,
                input=json.loads(input_text or "{}"),
                now_ms=now,
                minter=minter,
                callback_timeout_s=self.callback_timeout_s,
            )
        if state is None:
            log.warning("execution %s/%s: event %s before its start; dropped", flow_name, name, event.get("type"))
            return None
        try:
            event_ = engine.event_from_dict(dict(event))
            return engine.apply(
                flow, state, event_, now_ms=now, minter=minter, callback_timeout_s=self.callback_timeout_s
            )
        except StaleEvent:
            return None

    def _with_parent_callback(
        self, write: TransitionWrite, ex: ExecutionRecord, state: ExecutionState
    ) -> TransitionWrite:
        """A child flow started with a callback token reports its outcome to the parent's task."""
        completion = parent_completion(self.store, self.signer, ex, state, "", "")
        if completion is None:
            return write
        return replace(write, task_completions=[*write.task_completions, completion])

    # --- committing --------------------------------------------------------------------------------

    def _commit(self, writes: Sequence[TransitionWrite], records: dict[int, ExecutionRecord], now: int) -> None:
        if not writes:
            return
        try:
            self.store.commit(writes)
            return
        except VersionConflict:
            pass
        except Exception:  # one write the store refuses must not hold up the others: find it below
            if len(writes) > 1:
                log.info("a batch of %d transitions failed to commit; committing them one by one", len(writes))
        # Someone else changed one of them (an expired lease taken over) or one fails: commit one by one.
        for w in writes:
            try:
                self.store.commit([w])
            except VersionConflict:
                log.info("execution %s changed concurrently; its events will be applied again", w.execution_id)
                self.store.release([w.execution_id], self.owner)
            except Exception as exc:
                self._failed(records[w.execution_id], exc, now)
