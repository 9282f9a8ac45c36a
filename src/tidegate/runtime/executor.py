"""The executor: runs task jobs (effects outside the store) and reports their outcome.

A dispatcher thread claims due jobs in batches and hands them to a thread pool; each finished job
completes its task in the store (which queues the engine event) in one transaction. Jobs are leased, and the
leases of running jobs are renewed every third of the lease: a process killed mid-job leaves a lease
that expires within ``lease_ms``, and the job runs again (at-least-once invocation;
``complete_task`` makes the *completion* exactly-once).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from tidegate.engine import TaskSubmitted
from tidegate.integrations import Registry, TaskJob, failed
from tidegate.runtime.translate import TASK_JOB
from tidegate.store import JOBS, ApplyNow, JobRecord, Store

log = logging.getLogger("tidegate.runtime")


class Executor:
    """Claims and runs task jobs with ``workers`` threads until :meth:`stop`."""

    def __init__(
        self,
        store: Store,
        registry: Registry,
        *,
        owner: str,
        clock: Callable[[], int],
        workers: int = 8,
        lease_ms: int = 15_000,
        apply_now: ApplyNow | None = None,
    ) -> None:
        self.store = store
        self.apply_now = apply_now  # the driver's: a task's result moves its execution on at once
        self.registry = registry
        self.owner = owner
        self.clock = clock
        self.workers = workers
        self.lease_ms = lease_ms
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tidegate-task")
        self._busy = threading.Semaphore(workers)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tidegate-executor", daemon=True)
        self._heart = threading.Thread(target=self._heartbeat, name="tidegate-leases", daemon=True)

    def start(self) -> None:
        """Start the dispatcher and the lease-renewal threads."""
        self._thread.start()
        self._heart.start()

    def stop(self) -> None:
        """Stop claiming; wait for running jobs to finish."""
        self._stopping.set()
        self.store.notifier.notify(JOBS)
        self._thread.join(timeout=10)
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._heart.join(timeout=10)

    def _heartbeat(self) -> None:
        """Renew the leases of running jobs, so a lease is short however long a job runs."""
        while not self._stopping.wait(self.lease_ms / 3000):
            try:
                self.store.renew_jobs(self.owner, self.lease_ms, self.clock())
            except Exception:
                log.exception("executor: renewing job leases failed")

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self._dispatch_once()
            except Exception:  # the store may be briefly unavailable; never let the thread die
                log.exception("executor: claiming jobs failed")
                self._stopping.wait(1.0)

    def _dispatch_once(self) -> None:
        # Take a free slot first so that claimed jobs never sit leased while waiting for a thread.
        self._busy.acquire()
        free = 1
        while free < self.workers and self._busy.acquire(blocking=False):
            free += 1
        seq = self.store.notifier.seq()
        now = self.clock()
        jobs = self.store.claim_jobs(self.owner, [TASK_JOB], free, self.lease_ms, now)
        for _ in range(free - len(jobs)):
            self._busy.release()
        for job in jobs:
            self._pool.submit(self._run, job)
        if not jobs:
            nxt = self.store.next_job_ms([TASK_JOB])
            timeout = 1.0 if nxt is None else min(1.0, max(0.0, (nxt - now) / 1000))
            self.store.notifier.wait(JOBS, timeout, since=seq)

    def _run(self, record: JobRecord) -> None:
        try:
            self._execute(record)
        except Exception:
            log.exception("executor: job %s failed unexpectedly; it will be retried", record.id)
            try:
                self.store.retry_job(record.id, self.clock() + 1000, "internal error")
            except Exception:
                log.exception("executor: could not release job %s", record.id)
        finally:
            self._busy.release()

    def _execute(self, record: JobRecord) -> None:
        job = TaskJob.from_payload(record.payload)
        try:
            outcome = self.registry.get(job.command.resource.kind).run(job)
        except Exception as exc:  # an integration bug fails the task, it does not wedge it
            log.exception("task %s of %s/%s", job.command.task_key, job.flow_name, job.execution_name)
            outcome = failed(job, "FnF.RuntimeError", f"{type(exc).__name__}: {exc}")
        if outcome.submitted:
            # Inbox first: a kill between the two re-runs the job (a second TaskSubmitted is stale and
            # dropped), whereas finishing first could lose the TaskSubmitted event for good.
            self.store.append_inbox(job.execution_id, TaskSubmitted(task_key=job.command.task_key).to_dict())
            self.store.finish_job(record.id, None)
        else:
            self.store.finish_job(record.id, outcome.event, self.apply_now)
