-- How many times in a row applying an execution's events failed. While it is above zero the execution's
-- lease_until_ms is the time of its next attempt (no lease owner), so the back-off survives a restart.
ALTER TABLE executions ADD COLUMN apply_failures INTEGER NOT NULL DEFAULT 0;
