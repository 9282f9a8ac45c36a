-- Named queries of the workflow domain, shared by both dialects.
-- Parameters are written :name; the PostgreSQL loader rewrites them to %(name)s.
-- A dialect file (sqlite/workflow.sql, postgres/workflow.sql) overrides a query of the same name.
-- Optional filters cast their parameter so PostgreSQL can type a NULL.
-- Status values arrive as parameters (:running, :task_open …: STATUS_PARAMS in records.py), never literals.

-- name: get_setting
SELECT value FROM settings WHERE key = :key;

-- name: insert_setting_if_absent
INSERT INTO settings (key, value) VALUES (:key, :value) ON CONFLICT (key) DO NOTHING;

-- name: replace_setting
INSERT INTO settings (key, value) VALUES (:key, :value) ON CONFLICT (key) DO UPDATE SET value = excluded.value;

-- name: insert_flow
INSERT INTO flows (name, id, definition, description, type, role_arn, created_ms, modified_ms)
VALUES (:name, :id, :definition, :description, :type, :role_arn, :created_ms, :modified_ms)
ON CONFLICT DO NOTHING
RETURNING *;

-- name: get_flow
SELECT * FROM flows WHERE name = :name;

-- name: update_flow
UPDATE flows
SET definition  = COALESCE(:definition, definition),
    description = COALESCE(:description, description),
    type        = COALESCE(:type, type),
    role_arn    = COALESCE(:role_arn, role_arn),
    modified_ms = :modified_ms
WHERE name = :name
RETURNING *;

-- name: list_flows
SELECT * FROM flows
WHERE CAST(:after AS TEXT) IS NULL OR name > :after
ORDER BY name
LIMIT :limit;

-- name: delete_flow
DELETE FROM flows WHERE name = :name RETURNING id;

-- name: delete_flow_schedules
DELETE FROM schedules WHERE flow_name = :name;

-- name: insert_execution
INSERT INTO executions (flow_id, flow_name, name, definition, input, status, version, started_ms,
                        event_count, callback_token, parent_id)
VALUES (:flow_id, :flow_name, :name, :definition, :input, :status, 0, :started_ms, 0, :callback_token,
        :parent_id)
ON CONFLICT (flow_id, name) DO NOTHING
RETURNING *;

-- name: get_execution
SELECT * FROM executions WHERE flow_id = :flow_id AND name = :name;

-- name: get_execution_by_id
SELECT * FROM executions WHERE id = :id;

-- name: lock_execution_to_apply
-- An active execution no driver holds, for applying its inbox in the caller's transaction. SQLite's
-- write transaction already excludes every other writer; PostgreSQL locks the row (postgres/workflow.sql).
SELECT * FROM executions
WHERE id = :id AND status IN (:starting, :running)
  AND (lease_until_ms IS NULL OR lease_until_ms <= :now);

-- name: list_executions
SELECT * FROM executions
WHERE flow_id = :flow_id
  AND (CAST(:status AS TEXT) IS NULL OR status = :status)
  AND (CAST(:prefix AS TEXT) IS NULL OR substr(name, 1, length(CAST(:prefix AS TEXT))) = :prefix)
  AND (CAST(:from_ms AS BIGINT) IS NULL OR started_ms >= :from_ms)
  AND (CAST(:to_ms AS BIGINT) IS NULL OR started_ms <= :to_ms)
  AND (CAST(:after_ms AS BIGINT) IS NULL
       OR started_ms > :after_ms OR (started_ms = :after_ms AND id > :after_id))
ORDER BY started_ms, id
LIMIT :limit;

-- name: insert_inbox_if_active
-- Events for an ended execution are dropped: nothing would ever apply them.
INSERT INTO inbox (execution_id, event, available_ms)
SELECT id, :event, :available_ms FROM executions
WHERE id = :execution_id AND status IN (:starting, :running)
RETURNING id;

-- name: insert_inbox
INSERT INTO inbox (execution_id, event, available_ms) VALUES (:execution_id, :event, :available_ms);

-- name: claim_executions
UPDATE executions
SET lease_owner = :owner, lease_until_ms = :until
WHERE id IN (
    SELECT e.id FROM executions e
    WHERE e.id IN (SELECT i.execution_id FROM inbox i WHERE i.available_ms <= :now)
      AND e.status IN (:starting, :running)
      AND (e.lease_until_ms IS NULL OR e.lease_until_ms <= :now)
    ORDER BY e.id
    LIMIT :limit)
RETURNING *;

-- name: release_execution
UPDATE executions SET lease_owner = NULL, lease_until_ms = NULL
WHERE id = :id AND lease_owner = :owner;

-- name: apply_transition
UPDATE executions
SET state = :state, status = :status, version = version + 1,
    output = :output, error = :error, cause = :cause, stopped_ms = :stopped_ms,
    event_count = event_count + :n_events, apply_failures = 0,
    lease_owner = NULL, lease_until_ms = NULL
WHERE id = :id AND version = :expected_version
RETURNING event_count;

-- name: defer_execution
-- Applying failed: count it and keep the execution unclaimable until :until (its next attempt). No owner
-- holds it meanwhile, and the time is in the row, so a restart keeps the back-off.
UPDATE executions
SET apply_failures = apply_failures + 1, lease_owner = NULL, lease_until_ms = :until
WHERE id = :id AND lease_owner = :owner AND status IN (:starting, :running)
RETURNING apply_failures;

-- name: lock_active_execution
-- An active execution, whoever holds its lease, to end it without the engine (postgres/workflow.sql locks it).
SELECT * FROM executions WHERE id = :id AND status IN (:starting, :running);

-- name: insert_history
INSERT INTO history (execution_id, event_id, schedule_event_id, type, step_name, time_ms, detail)
VALUES (:execution_id, :event_id, :schedule_event_id, :type, :step_name, :time_ms, :detail);

-- name: get_history
SELECT * FROM history
WHERE execution_id = :execution_id AND event_id > :after
ORDER BY event_id
LIMIT :limit;

-- name: delete_inbox_item
DELETE FROM inbox WHERE id = :id AND execution_id = :execution_id;

-- name: delete_inbox_of
DELETE FROM inbox WHERE execution_id = :execution_id;

-- name: upsert_timer
INSERT INTO timers (execution_id, timer_key, fire_at_ms, event, task_key, heartbeat_ms)
VALUES (:execution_id, :timer_key, :fire_at_ms, :event, :task_key, :heartbeat_ms)
ON CONFLICT (execution_id, timer_key) DO UPDATE
SET fire_at_ms = excluded.fire_at_ms, event = excluded.event, task_key = excluded.task_key,
    heartbeat_ms = excluded.heartbeat_ms;

-- name: cancel_fired_task
-- A task's timeout or heartbeat timer fired: the task closes with the move (postgres/workflow.sql skips a
-- task row a report holds: that report decides).
UPDATE tasks SET status = :task_cancelled, closed_ms = :now
WHERE execution_id = :execution_id AND task_key = :task_key AND status = :task_open;

-- name: delete_timer
DELETE FROM timers WHERE execution_id = :execution_id AND timer_key = :timer_key;

-- name: delete_timers_of
DELETE FROM timers WHERE execution_id = :execution_id;

-- name: first_timer
SELECT MIN(fire_at_ms) AS t FROM timers;

-- name: next_due
-- Earliest moment a timer fires or pending inbox work becomes claimable (delay or lease expiry).
SELECT MIN(t) AS t FROM (
    SELECT MIN(fire_at_ms) AS t FROM timers
    UNION ALL
    SELECT MIN(CASE WHEN e.lease_until_ms IS NOT NULL AND e.lease_until_ms > i.available_ms
                    THEN e.lease_until_ms ELSE i.available_ms END) AS t
    FROM inbox i JOIN executions e ON e.id = i.execution_id
    WHERE e.status IN (:starting, :running)
) due;

-- name: open_task
-- A task key that exists in any status is left alone: a closed task never reopens.
INSERT INTO tasks (execution_id, task_key, status, created_ms, closed_ms, step_name, resource, pattern, attempt,
                   heartbeat_ms)
VALUES (:execution_id, :task_key, :task_open, :now, NULL, :step_name, :resource, :pattern, :attempt,
        :heartbeat_ms)
ON CONFLICT (execution_id, task_key) DO NOTHING;

-- name: beat_task
-- A heartbeat: recorded on the task while it is open (it locks the task row first, as a report does).
UPDATE tasks SET last_heartbeat_ms = :now
WHERE execution_id = :execution_id AND task_key = :task_key AND status = :task_open
RETURNING heartbeat_ms;

-- name: beat_timers
-- ...and moves on the task's heartbeat timer, which is gone once it has fired.
UPDATE timers SET fire_at_ms = :now + heartbeat_ms
WHERE execution_id = :execution_id AND task_key = :task_key AND heartbeat_ms IS NOT NULL;

-- Open tasks that wait for a report from outside: those of a callback (and those opened before the pattern
-- was recorded) with no invocation pending; by age, after the page key (:after_ms, :after_id, :after_key).
-- deadline_ms: the earliest of the task's timers (its timeout, its heartbeat deadline).

-- name: waiting_tasks_oldest
SELECT t.execution_id, t.task_key, e.flow_name, e.name AS execution_name, t.created_ms, t.step_name,
       t.resource, t.pattern, t.attempt, t.heartbeat_ms, t.last_heartbeat_ms,
       (SELECT MIN(tm.fire_at_ms) FROM timers tm
        WHERE tm.execution_id = t.execution_id AND tm.task_key = t.task_key) AS deadline_ms
FROM tasks t JOIN executions e ON e.id = t.execution_id
WHERE t.status = :task_open
  AND (t.pattern IS NULL OR t.pattern = :pattern)
  AND (CAST(:flow AS TEXT) IS NULL OR e.flow_name = :flow)
  AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.execution_id = t.execution_id AND j.task_key = t.task_key)
  AND (CAST(:after_ms AS BIGINT) IS NULL OR t.created_ms > :after_ms
       OR (t.created_ms = :after_ms AND (t.execution_id > :after_id
           OR (t.execution_id = :after_id AND t.task_key > :after_key))))
ORDER BY t.created_ms, t.execution_id, t.task_key
LIMIT :limit;

-- name: waiting_tasks_newest
SELECT t.execution_id, t.task_key, e.flow_name, e.name AS execution_name, t.created_ms, t.step_name,
       t.resource, t.pattern, t.attempt, t.heartbeat_ms, t.last_heartbeat_ms,
       (SELECT MIN(tm.fire_at_ms) FROM timers tm
        WHERE tm.execution_id = t.execution_id AND tm.task_key = t.task_key) AS deadline_ms
FROM tasks t JOIN executions e ON e.id = t.execution_id
WHERE t.status = :task_open
  AND (t.pattern IS NULL OR t.pattern = :pattern)
  AND (CAST(:flow AS TEXT) IS NULL OR e.flow_name = :flow)
  AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.execution_id = t.execution_id AND j.task_key = t.task_key)
  AND (CAST(:after_ms AS BIGINT) IS NULL OR t.created_ms < :after_ms
       OR (t.created_ms = :after_ms AND (t.execution_id < :after_id
           OR (t.execution_id = :after_id AND t.task_key < :after_key))))
ORDER BY t.created_ms DESC, t.execution_id DESC, t.task_key DESC
LIMIT :limit;

-- name: cancel_task
UPDATE tasks SET status = :task_cancelled, closed_ms = :now
WHERE execution_id = :execution_id AND task_key = :task_key AND status = :task_open;

-- name: cancel_open_tasks_of
UPDATE tasks SET status = :task_cancelled, closed_ms = :now
WHERE execution_id = :execution_id AND status = :task_open;

-- name: close_task
UPDATE tasks SET status = :task_done, closed_ms = :now
WHERE execution_id = :execution_id AND task_key = :task_key AND status = :task_open
RETURNING execution_id;

-- name: get_task
SELECT * FROM tasks WHERE execution_id = :execution_id AND task_key = :task_key;

-- name: insert_job
INSERT INTO jobs (kind, payload, execution_id, task_key, available_ms, attempts, created_ms)
VALUES (:kind, :payload, :execution_id, :task_key, :available_ms, 0, :now);

-- name: delete_job
DELETE FROM jobs WHERE id = :id RETURNING execution_id, task_key;

-- name: renew_jobs
UPDATE jobs SET lease_until_ms = :until
WHERE lease_owner = :owner AND lease_until_ms IS NOT NULL AND lease_until_ms > :now;

-- name: retry_job
UPDATE jobs
SET available_ms = :available_ms, last_error = :error, lease_owner = NULL, lease_until_ms = NULL
WHERE id = :id;

-- name: insert_schedule
INSERT INTO schedules (flow_name, name, id, cron, payload, enable, description, created_ms, modified_ms,
                       next_fire_ms)
VALUES (:flow_name, :name, :id, :cron, :payload, :enable, :description, :created_ms, :modified_ms,
        :next_fire_ms)
ON CONFLICT DO NOTHING
RETURNING *;

-- name: update_schedule
UPDATE schedules
SET cron         = COALESCE(:cron, cron),
    payload      = COALESCE(:payload, payload),
    enable       = COALESCE(:enable, enable),
    description  = COALESCE(:description, description),
    next_fire_ms = CASE WHEN :set_next THEN CAST(:next_fire_ms AS BIGINT) ELSE next_fire_ms END,
    modified_ms  = :modified_ms
WHERE flow_name = :flow_name AND name = :name
RETURNING *;

-- name: get_schedule
SELECT * FROM schedules WHERE flow_name = :flow_name AND name = :name;

-- name: list_schedules
SELECT * FROM schedules
WHERE flow_name = :flow_name AND (CAST(:after AS TEXT) IS NULL OR name > :after)
ORDER BY name
LIMIT :limit;

-- name: delete_schedule
DELETE FROM schedules WHERE flow_name = :flow_name AND name = :name RETURNING name;

-- name: due_schedules
SELECT * FROM schedules
WHERE enable AND next_fire_ms IS NOT NULL AND next_fire_ms <= :now
ORDER BY next_fire_ms
LIMIT :limit;

-- name: advance_schedule
UPDATE schedules SET next_fire_ms = :next_fire_ms WHERE flow_name = :flow_name AND name = :name;

-- Deleting a flow: its running executions are stopped in the DeleteFlow transaction (no task of theirs
-- completes again, nothing of theirs is claimed or run), then every execution of the deleted flow is
-- removed with all its rows, a bounded batch per transaction (purge_batch: the oldest :limit executions
-- of the flow).

-- name: stop_deleted_flow_tasks
UPDATE tasks SET status = :task_cancelled, closed_ms = :now
WHERE status = :task_open AND execution_id IN (
    SELECT id FROM executions WHERE flow_id = :flow_id AND status IN (:starting, :running));

-- name: stop_deleted_flow_inbox
DELETE FROM inbox WHERE execution_id IN (
    SELECT id FROM executions WHERE flow_id = :flow_id AND status IN (:starting, :running));

-- name: stop_deleted_flow_timers
DELETE FROM timers WHERE execution_id IN (
    SELECT id FROM executions WHERE flow_id = :flow_id AND status IN (:starting, :running));

-- name: stop_deleted_flow_jobs
DELETE FROM jobs WHERE execution_id IN (
    SELECT id FROM executions WHERE flow_id = :flow_id AND status IN (:starting, :running));

-- name: stop_deleted_flow_executions
-- version + 1: a driver that holds one of them cannot commit its transition any more.
UPDATE executions
SET status = :stopped, version = version + 1, stopped_ms = :now, error = :error, cause = :cause,
    lease_owner = NULL, lease_until_ms = NULL
WHERE flow_id = :flow_id AND status IN (:starting, :running)
RETURNING callback_token;

-- name: purge_batch
-- Nothing while a flow with this id exists: only a deleted flow's executions are ever purged. The rows
-- they own go with them (EXECUTION_TABLES in store/base.py, removed by id: see execution_id_list).
SELECT id FROM executions
WHERE flow_id = :flow_id AND NOT EXISTS (SELECT 1 FROM flows WHERE id = :flow_id)
ORDER BY id
LIMIT :limit;

-- name: deleted_flow_ids
SELECT DISTINCT e.flow_id FROM executions e
WHERE NOT EXISTS (SELECT 1 FROM flows f WHERE f.id = e.flow_id)
LIMIT :limit;

-- Retention: executions that ended before :before are removed with all their rows, a bounded batch per
-- transaction, the longest ended first. A child flow execution stays while its parent runs: a task
-- attempt of the parent that runs again (crash recovery) finds its child by name instead of starting it
-- anew. Ended is final, so a batch chosen here stays removable until the transaction deletes it.

-- name: retention_batch
SELECT e.id FROM executions e
WHERE e.stopped_ms < :before
  AND e.status IN (:succeeded, :failed, :stopped, :timed_out)
  AND (e.parent_id IS NULL OR NOT EXISTS (
      SELECT 1 FROM executions p WHERE p.id = e.parent_id AND p.status IN (:starting, :running)))
ORDER BY e.stopped_ms, e.id
LIMIT :limit;

-- name: count_tasks_waiting
-- Open tasks with no invocation pending: waiting for a report from outside (a task has at most one job).
SELECT (SELECT COUNT(*) FROM tasks WHERE status = :task_open)
     - (SELECT COUNT(*) FROM jobs j JOIN tasks t ON t.execution_id = j.execution_id AND t.task_key = j.task_key
        WHERE t.status = :task_open) AS n;
