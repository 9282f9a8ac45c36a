"""The runtime of one process: the driver loop plus the executor, on one store."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

from tidegate.auth.tasktoken import TaskTokenSigner
from tidegate.clock import now_ms
from tidegate.engine import start_event
from tidegate.flow.model import ResourceKind
from tidegate.functions import FunctionRunner
from tidegate.integrations import Registry
from tidegate.integrations.fc import (
    CredentialSource,
    FunctionIntegration,
    SpecResolver,
    directory_resolver,
    no_credentials,
)
from tidegate.integrations.fnf import ChildFlowIntegration, FnfActionIntegration
from tidegate.integrations.roles import TaskRoles
from tidegate.names import DEFAULT_ACCOUNT_ID, DEFAULT_REGION
from tidegate.runtime.backoff import FailureBackoff
from tidegate.runtime.cron import compute_next, scheduled_execution_name
from tidegate.runtime.driver import Driver
from tidegate.runtime.executor import Executor
from tidegate.runtime.translate import Transactional
from tidegate.store import WORK, Store

log = logging.getLogger("tidegate.runtime")

DEFAULT_CALLBACK_TIMEOUT_S = 7 * 86_400
"""How long a waitForCallback task whose step sets no timeoutSeconds waits (one week) unless configured."""


def new_owner() -> str:
    """A lease-owner id unique to this process run."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Runtime:
    """Drives every execution of a store until :meth:`stop`.

    Args:
        store: the store (shared with the API, if any).
        signer: mints the task tokens (the server derives it from its root key).
        functions_dir: local functions as ``DIR/SERVICE/FUNCTION.py`` (see :mod:`tidegate.integrations.fc`).
        resolver: a function resolver to use instead of ``functions_dir`` (deployed functions).
        registry: integrations to use; the function integration is added to it when functions are set.
        transactional: task targets that live in the store (queues, topics): their effect commits with the
            transition that starts the task (see :mod:`tidegate.integrations.mns`).
        credentials: the credentials of one function invocation (none by default).
        roles: task steps act as their flow's execution role (None: as the account, as ``tidegate run``).
        workers: task threads (and function worker processes).
        execution_lease_ms / job_lease_ms: how long a crashed process's claims block others.
        callback_timeout_s: the timeout of a waitForCallback task whose step sets no timeoutSeconds, for
            the tasks opened from now on (0: they wait for ever).
    """

    def __init__(
        self,
        store: Store,
        *,
        signer: TaskTokenSigner,
        functions_dir: Path | None = None,
        resolver: SpecResolver | None = None,
        registry: Registry | None = None,
        owner: str | None = None,
        region: str = DEFAULT_REGION,
        account_id: str = DEFAULT_ACCOUNT_ID,
        credentials: CredentialSource = no_credentials,
        roles: TaskRoles | None = None,
        workers: int = 8,
        transactional: Transactional | None = None,
        execution_lease_ms: int = 5_000,
        job_lease_ms: int = 15_000,
        clock: Callable[[], int] = now_ms,
        callback_timeout_s: int = DEFAULT_CALLBACK_TIMEOUT_S,
    ) -> None:
        self.store = store
        self.signer = signer
        self.owner = owner or new_owner()
        self.clock = clock
        self.registry = registry or Registry()
        self.runner: FunctionRunner | None = None
        self.registry.register_default(ResourceKind.FLOW, ChildFlowIntegration(store, clock, roles))
        self.registry.register_default(ResourceKind.ACTION, FnfActionIntegration(store, clock, roles))
        if resolver is None and functions_dir is not None:
            resolver = directory_resolver(Path(functions_dir))
        if resolver is not None:
            self.runner = FunctionRunner(workers=workers)
            self.registry.register(
                ResourceKind.FUNCTION,
                FunctionIntegration(
                    self.runner, resolver, region=region, account_id=account_id, credentials=credentials, roles=roles
                ),
            )
        self.driver = Driver(
            store,
            signer,
            owner=self.owner,
            clock=clock,
            lease_ms=execution_lease_ms,
            transactional=transactional,
            callback_timeout_s=callback_timeout_s,
        )
        self.executor = Executor(
            store,
            self.registry,
            owner=self.owner,
            clock=clock,
            workers=workers,
            lease_ms=job_lease_ms,
            apply_now=self.driver.apply_now,
        )
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tidegate-driver", daemon=True)

    def start(self) -> None:
        """Start the driver and executor threads."""
        self.executor.start()
        self._thread.start()

    def stop(self) -> None:
        """Stop both loops and the function workers (the store stays open).

        Running invocations are not waited for: their workers are killed, and their jobs are handed back
        (to run again on the next start) unless their tasks closed meanwhile (a timed-out task's invocation
        was abandoned). So ``tidegate run`` returns when its execution ends, not when a function does.
        """
        self._stopping.set()
        self.store.notifier.notify(WORK)
        self._thread.join(timeout=10)
        self.executor.stop_claiming()
        if self.runner is not None:
            self.runner.close()
        self.executor.stop()

    def __enter__(self) -> Runtime:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _loop(self) -> None:
        next_schedules = 0
        loop = FailureBackoff(log, "runtime: the driver loop")
        schedules = FailureBackoff(log, "runtime: firing schedules", first_s=1.0, max_s=60.0)
        while not self._stopping.is_set():
            try:
                seq = self.store.notifier.seq()
                if self.clock() >= next_schedules:
                    # Cron has one-second resolution: look for due schedules once a second.
                    next_schedules = self.clock() + 1000
                    try:
                        self.fire_schedules()
                        schedules.succeeded()
                    except Exception as exc:  # the executions go on; schedules are tried again later
                        next_schedules = self.clock() + int(schedules.failed(exc) * 1000)
                if self.driver.run_once():
                    loop.succeeded()
                    continue
                self._idle(seq)
                loop.succeeded()
            except Exception as exc:  # the store may be briefly unavailable: pause, growing, never spin
                self._stopping.wait(loop.failed(exc))

    def fire_schedules(self) -> int:
        """Start the executions of every due schedule (exactly once per tick); return how many."""
        started = self.store.fire_due_schedules(
            self.clock(), compute_next, lambda s, due: scheduled_execution_name(s.name, due), start_event()
        )
        for record in started:
            log.info("schedule fired: %s/%s", record.flow_name, record.name)
        return len(started)

    def _idle(self, seq: int) -> None:
        """Sleep until work is notified or the next timer is due (at most a second, as a safety net)."""
        nxt = self.store.next_timer_ms()
        timeout = 1.0 if nxt is None else min(1.0, max(0.0, (nxt - self.clock()) / 1000))
        if timeout > 0:
            self.store.notifier.wait(WORK, timeout, since=seq)
