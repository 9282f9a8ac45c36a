-- SQLite versions of the workflow queries that differ by dialect. Lists arrive as JSON text because
-- SQLite has no array parameters; claims need no row locks because every write holds the database lock
-- (BEGIN IMMEDIATE).

-- name: claimed_inbox
SELECT * FROM inbox
WHERE execution_id IN (SELECT value FROM json_each(:ids)) AND available_ms <= :now
ORDER BY id;

-- name: take_due_timers
DELETE FROM timers
WHERE rowid IN (SELECT rowid FROM timers WHERE fire_at_ms <= :now ORDER BY fire_at_ms LIMIT :limit)
RETURNING execution_id, timer_key, event, task_key;

-- name: claim_jobs
UPDATE jobs
SET lease_owner = :owner, lease_until_ms = :until, attempts = attempts + 1
WHERE id IN (
    SELECT id FROM jobs
    WHERE kind IN (SELECT value FROM json_each(:kinds))
      AND available_ms <= :now
      AND (lease_until_ms IS NULL OR lease_until_ms <= :now)
    ORDER BY available_ms, id
    LIMIT :limit)
RETURNING *;

-- name: next_job
SELECT MIN(CASE WHEN lease_until_ms IS NOT NULL AND lease_until_ms > available_ms
                THEN lease_until_ms ELSE available_ms END) AS t
FROM jobs WHERE kind IN (SELECT value FROM json_each(:kinds));

-- name: execution_id_list
-- The ids of the list parameter :ids (Tx.array) as a subquery: removing executions by id builds
-- "DELETE FROM <table> WHERE execution_id IN (<this>)" for each table of store.base.EXECUTION_TABLES.
SELECT value FROM json_each(:ids);
