-- Retention: the execution a child flow execution was started by (NULL for a top-level execution, and
-- for children started before this migration), so that a child is kept while its parent runs; and an
-- index to find ended executions by the time they ended.
ALTER TABLE executions ADD COLUMN parent_id INTEGER;
CREATE INDEX executions_ended ON executions (stopped_ms);
