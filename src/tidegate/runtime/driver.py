"""The driver: claim executions with due work, apply the engine, commit, in batches.

One call of :meth:`Driver.run_once` claims up to ``batch`` executions (each leased, so no other process
works on them), applies every due inbox item of each through the pure engine, and commits all resulting
transitions in one store transaction (group commit). Effects outside the store are jobs committed in the
same transaction; the executor runs them afterwards (at least once).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace

from tidegate import engine
from tidegate.auth.tasktoken import TaskTokenSigner
from tidegate.engine import START, TERMINAL, ExecutionState, StaleEvent, TaskFailed, TaskSucceeded
from tidegate.errors import TidegateError
from tidegate.flow.model import Flow
from tidegate.runtime.flows import FlowCache
from tidegate.runtime.tokens import token_execution
from tidegate.runtime.translate import Pending, Transactional, to_write
from tidegate.store import (
    Store,
    TaskCompletion,
    TransitionWrite,
    VersionConflict,
    Work,
)

log = logging.getLogger("tidegate.runtime")


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
    ) -> None:
        self.store = store
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
        self.store.move_due_timers(now)
        works = self.store.claim_work(self.owner, self.batch, self.lease_ms, now)
        if not works:
            return 0
        writes = []
        for work in works:
            write = self._apply_safely(work, now)
            if write is not None:
                writes.append(write)
        self._commit(writes)
        return len(works)

    def apply_now(self, work: Work) -> TransitionWrite | None:
        """Apply ``work`` for a store call that commits it in its own transaction (:data:`tidegate.store.ApplyNow`).

        A started execution, a reported task or a finished job moves on within the request's transaction,
        without waiting for this loop. A failure is logged and returns None: the events stay queued and
        the loop applies them (and logs again if it fails too).

        A child flow started with a callback token is left to the loop too: when it ends, reporting to its
        parent reads the parent from the store, which must not happen inside another open transaction (on
        PostgreSQL it would take a second pooled connection while holding one).
        """
        if work.execution.callback_token:
            return None
        try:
            return self._apply(work, self.clock())
        except Exception:
            ex = work.execution
            log.exception("execution %s/%s: applying its events failed; left to the driver", ex.flow_name, ex.name)
            return None

    # --- applying ----------------------------------------------------------------------------------

    def _apply_safely(self, work: Work, now: int) -> TransitionWrite | None:
        try:
            return self._apply(work, now)
        except Exception:  # a bug must not stop every other execution: leave this one leased, log it
            log.exception("execution %s/%s: applying its events failed", work.execution.flow_name, work.execution.name)
            self.store.release([work.execution.id], self.owner)
            return None

    def _apply(self, work: Work, now: int) -> TransitionWrite:
        ex = work.execution
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
        if p.state is not None and p.state.status in TERMINAL and ex.callback_token:
            write = self._with_parent_callback(write, ex.callback_token, p.state)
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
            )
        if state is None:
            log.warning("execution %s/%s: event %s before its start; dropped", flow_name, name, event.get("type"))
            return None
        try:
            return engine.apply(flow, state, engine.event_from_dict(dict(event)), now_ms=now, minter=minter)
        except StaleEvent:
            return None

    def _with_parent_callback(self, write: TransitionWrite, token: str, state: ExecutionState) -> TransitionWrite:
        """A child flow started with a callback token reports its outcome to the parent's task."""
        try:
            claims = self.signer.claims(token)
            parent = token_execution(self.store, claims)
        except TidegateError:
            parent = None
        if parent is None:
            log.warning("execution %s: its callback token names no execution; not reported", write.execution_id)
            return write
        task_key = claims.task_key
        if state.status == engine.ExecutionStatus.SUCCEEDED:
            event = TaskSucceeded(task_key=task_key, output=state.output or {}).to_dict()
        else:
            error = state.error or ("FnF.TaskTimeout" if state.status == engine.ExecutionStatus.TIMED_OUT else "")
            event = TaskFailed(task_key=task_key, error=error, cause=state.cause or "").to_dict()
        completion = TaskCompletion(execution_id=parent.id, task_key=task_key, event=event)
        return replace(write, task_completions=[*write.task_completions, completion])

    # --- committing --------------------------------------------------------------------------------

    def _commit(self, writes: Sequence[TransitionWrite]) -> None:
        if not writes:
            return
        try:
            self.store.commit(writes)
            return
        except VersionConflict:
            pass
        # Someone else changed one of them (an expired lease taken over): commit the others one by one.
        for w in writes:
            try:
                self.store.commit([w])
            except VersionConflict:
                log.info("execution %s changed concurrently; its events will be applied again", w.execution_id)
                self.store.release([w.execution_id], self.owner)
