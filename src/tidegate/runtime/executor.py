"""The executor: runs task jobs (effects outside the store) and reports their outcome.

A dispatcher thread claims due jobs in batches and hands them to a thread pool; each finished job
completes its task in the store (which queues the engine event) in one transaction. Jobs are leased, and the
leases of running jobs are renewed every third of the lease: a process killed mid-job leaves a lease
that expires within ``lease_ms``, and the job runs again (at-least-once invocation;
``complete_task`` makes the *completion* exactly-once).

A job whose running or result handling raises (a bug, or a result the store refuses) is retried after a
growing back-off; after :data:`JOB_ATTEMPTS` claims its task fails with ``FnF.RuntimeError`` (queued, not
applied in the job's transaction, so the driver's own bounded retries take over if applying fails too).

Stopping does not wait for invocations: the runtime kills busy function workers first, and a job that
fails while the executor stops is handed back (run again by the next runtime) unless its task has closed
meanwhile -- a task that timed out was abandoned, and its late result is dropped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from tidegate import metrics
from tidegate.engine import RUNTIME_ERROR, TaskFailed, TaskSubmitted
from tidegate.integrations import Outcome, Registry, TaskJob, failed
from tidegate.logctx import execution_scope
from tidegate.runtime.backoff import FailureBackoff
from tidegate.runtime.driver import describe_failure
from tidegate.runtime.translate import TASK_JOB
from tidegate.store import JOBS, ApplyNow, JobRecord, Store, TaskStatus

log = logging.getLogger("tidegate.runtime")

JOB_ATTEMPTS = 5
"""Claims of a job whose handling keeps raising before its task fails with ``FnF.RuntimeError``."""
JOB_BACKOFF_MS = 1000
"""The wait before a job's second claim; it doubles after each further failure (at most a minute)."""


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

    def stop_claiming(self) -> None:
        """Stop claiming jobs; running jobs go on (see :meth:`stop`)."""
        self._stopping.set()
        self.store.notifier.notify(JOBS)
        self._thread.join(timeout=10)

    def stop(self) -> None:
        """Stop claiming; wait for the running jobs' threads (kill the invocations first to not wait on them)."""
        self.stop_claiming()
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
        backoff = FailureBackoff(log, "executor: claiming jobs", first_s=1.0)
        while not self._stopping.is_set():
            try:
                self._dispatch_once()
                backoff.succeeded()
            except Exception as exc:  # the store may be briefly unavailable; never let the thread die
                self._stopping.wait(backoff.failed(exc))

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
        running = metrics.executor_jobs_running if metrics.enabled() else None
        if running is not None:
            running.inc()
        try:
            self._execute(record)
        except Exception as exc:
            self._job_failed(record, exc)
        finally:
            if running is not None:
                running.dec()
            self._busy.release()

    def _job_failed(self, record: JobRecord, exc: Exception) -> None:
        """One line per failed claim; a back-off, or after the last claim the task fails (queued)."""
        what = describe_failure(exc)
        try:
            if record.attempts < JOB_ATTEMPTS:
                delay_ms = min(60_000, JOB_BACKOFF_MS << (record.attempts - 1))
                log.warning(
                    "executor: job %s failed (attempt %d of %d, %s); next attempt in %g s",
                    *(record.id, record.attempts, JOB_ATTEMPTS, what, delay_ms / 1000),
                    exc_info=exc if record.attempts == 1 else None,
                )
                self.store.retry_job(record.id, self.clock() + delay_ms, what)
                return
            log.error(
                "executor: job %s failed (attempt %d of %d, %s); its task fails",
                record.id,
                record.attempts,
                JOB_ATTEMPTS,
                what,
            )
            cause = f"handling the task's invocation failed {record.attempts} times: {what}"
            # From the job's row, not its payload: the payload may be what fails.
            event = TaskFailed(task_key=record.task_key or "", error=RUNTIME_ERROR, cause=cause).to_dict()
            self.store.finish_job(record.id, event if record.task_key else None)
        except Exception as store_exc:  # its lease expires and the job is claimed again (and counted)
            log.error("executor: could not record the failure of job %s (%s)", record.id, describe_failure(store_exc))

    def _invoke(self, job: TaskJob) -> Outcome:
        try:
            return self.registry.get(job.command.resource.kind).run(job)
        except Exception as exc:  # an integration bug fails the task, it does not wedge it
            if not self._stopping.is_set():  # while stopping, closed function runners raise: no traceback
                log.exception("task %s of %s/%s", job.command.task_key, job.flow_name, job.execution_name)
            return failed(job, RUNTIME_ERROR, describe_failure(exc))

    def _execute(self, record: JobRecord) -> None:
        job = TaskJob.from_payload(record.payload)
        with execution_scope(job.flow_name, job.execution_name):
            self._execute_job(record, job)

    def _execute_job(self, record: JobRecord, job: TaskJob) -> None:
        command = job.command
        log.debug(
            "task %s (step %s, attempt %d): invoking %s",
            *(command.task_key, command.step_name, command.attempt, command.resource.text),
        )
        outcome = self._invoke(job)
        if self._stopping.is_set() and _failed(outcome):
            # It may have failed because stopping killed its worker: not a result. Hand it back, unless its
            # task has closed meanwhile (timed out, or the execution ended): nobody waits for it any more.
            task = self.store.get_task(job.execution_id, job.command.task_key)
            if task is None or task.status != TaskStatus.OPEN:
                self.store.finish_job(record.id, None)
            else:
                self.store.retry_job(record.id, self.clock(), "the runtime stopped during the invocation")
            return
        if outcome.submitted:
            # Inbox first: a kill between the two re-runs the job (a second TaskSubmitted is stale and
            # dropped), whereas finishing first could lose the TaskSubmitted event for good.
            event = TaskSubmitted(job.command.task_key, outcome.detail).to_dict()
            self.store.append_inbox(job.execution_id, event)
            self.store.finish_job(record.id, None)
        else:
            self.store.finish_job(record.id, outcome.event, self.apply_now)


def _failed(outcome: Outcome) -> bool:
    return outcome.event is not None and outcome.event.get("type") == TaskFailed.TYPE
