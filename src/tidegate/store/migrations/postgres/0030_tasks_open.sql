-- The open tasks alone: /metrics counts the tasks waiting on callbacks every few seconds, and the tasks
-- table keeps every closed task too.
CREATE INDEX tasks_open ON tasks (execution_id, task_key) WHERE status = 'open';
