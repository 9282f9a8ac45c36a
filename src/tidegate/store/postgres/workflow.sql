-- PostgreSQL versions of the workflow queries that differ by dialect: array parameters, and
-- FOR UPDATE SKIP LOCKED so concurrent claimers (threads or server processes) never take the same row
-- and never wait for each other.

-- name: claimed_inbox
SELECT * FROM inbox
WHERE execution_id = ANY(:ids) AND available_ms <= :now
ORDER BY id;

-- name: lock_execution_to_apply
-- SKIP LOCKED: a row another transaction holds (a driver committing it) is left to the driver. Waiting
-- could deadlock: the caller already holds the task row that the driver's commit may cancel.
SELECT * FROM executions
WHERE id = :id AND status IN (:starting, :running)
  AND (lease_until_ms IS NULL OR lease_until_ms <= :now)
FOR UPDATE SKIP LOCKED;

-- name: lock_active_execution
-- Waits for a driver's commit of the row, then sees whether it is still active.
SELECT * FROM executions WHERE id = :id AND status IN (:starting, :running)
FOR UPDATE;

-- name: claim_executions
UPDATE executions
SET lease_owner = :owner, lease_until_ms = :until
WHERE id IN (
    SELECT e.id FROM executions e
    WHERE e.id IN (SELECT i.execution_id FROM inbox i WHERE i.available_ms <= :now)
      AND e.status IN (:starting, :running)
      AND (e.lease_until_ms IS NULL OR e.lease_until_ms <= :now)
    ORDER BY e.id
    LIMIT :limit
    FOR UPDATE SKIP LOCKED)
RETURNING *;

-- name: take_due_timers
DELETE FROM timers t
USING (SELECT execution_id, timer_key FROM timers
       WHERE fire_at_ms <= :now ORDER BY fire_at_ms LIMIT :limit
       FOR UPDATE SKIP LOCKED) due
WHERE t.execution_id = due.execution_id AND t.timer_key = due.timer_key
RETURNING t.execution_id, t.timer_key, t.event, t.task_key;

-- name: cancel_fired_task
-- SKIP LOCKED: a task row a report holds is left to that report (waiting could deadlock: the report's
-- transaction goes on to delete this timer). Whichever the engine applies first decides the outcome.
UPDATE tasks SET status = :task_cancelled, closed_ms = :now
WHERE (execution_id, task_key) IN (
    SELECT execution_id, task_key FROM tasks
    WHERE execution_id = :execution_id AND task_key = :task_key AND status = :task_open
    FOR UPDATE SKIP LOCKED);

-- name: claim_jobs
UPDATE jobs
SET lease_owner = :owner, lease_until_ms = :until, attempts = attempts + 1
WHERE id IN (
    SELECT id FROM jobs
    WHERE kind = ANY(:kinds)
      AND available_ms <= :now
      AND (lease_until_ms IS NULL OR lease_until_ms <= :now)
    ORDER BY available_ms, id
    LIMIT :limit
    FOR UPDATE SKIP LOCKED)
RETURNING *;

-- name: next_job
SELECT MIN(CASE WHEN lease_until_ms IS NOT NULL AND lease_until_ms > available_ms
                THEN lease_until_ms ELSE available_ms END) AS t
FROM jobs WHERE kind = ANY(:kinds);

-- name: due_schedules
SELECT * FROM schedules
WHERE enable AND next_fire_ms IS NOT NULL AND next_fire_ms <= :now
ORDER BY next_fire_ms
LIMIT :limit
FOR UPDATE SKIP LOCKED;

-- name: execution_id_list
-- The ids of the list parameter :ids (Tx.array) as a subquery: removing executions by id builds
-- "DELETE FROM <table> WHERE execution_id IN (<this>)" for each table of store.base.EXECUTION_TABLES.
SELECT unnest(CAST(:ids AS BIGINT[]));

-- name: retention_batch
-- SKIP LOCKED: nodes sweeping at once take different batches instead of waiting for (or deadlocking on)
-- each other's.
SELECT e.id FROM executions e
WHERE e.stopped_ms < :before
  AND e.status IN (:succeeded, :failed, :stopped, :timed_out)
  AND (e.parent_id IS NULL OR NOT EXISTS (
      SELECT 1 FROM executions p WHERE p.id = e.parent_id AND p.status IN (:starting, :running)))
ORDER BY e.stopped_ms, e.id
LIMIT :limit
FOR UPDATE OF e SKIP LOCKED;
