-- Heartbeats and the waiting-tasks list.
-- A task's timeout and heartbeat timers name the task they end (task_key): moving such a timer to the
-- inbox cancels the task in the same transaction, so a report or heartbeat after that is refused.
-- heartbeat_ms: a heartbeat of that task moves the timer to its time plus heartbeat_ms.
ALTER TABLE timers ADD COLUMN task_key TEXT;
ALTER TABLE timers ADD COLUMN heartbeat_ms BIGINT;
-- What a task is, for the list of the tasks waiting on a callback (NULL for tasks opened before this
-- migration), and its last heartbeat.
ALTER TABLE tasks ADD COLUMN step_name TEXT;
ALTER TABLE tasks ADD COLUMN resource TEXT;
ALTER TABLE tasks ADD COLUMN pattern TEXT;
ALTER TABLE tasks ADD COLUMN attempt INTEGER;
ALTER TABLE tasks ADD COLUMN heartbeat_ms BIGINT;
ALTER TABLE tasks ADD COLUMN last_heartbeat_ms BIGINT;
-- The waiting list pages through the open tasks by age; the index also serves every lookup by status,
-- which tasks_status did.
CREATE INDEX tasks_waiting ON tasks (status, created_ms, execution_id, task_key);
DROP INDEX tasks_status;
