-- Named queries of the cluster: RPC signature nonces and the servers sharing the store (nodes).
-- Dialect files (sqlite/cluster.sql, postgres/cluster.sql) override the bounded deletes.

-- name: insert_nonce
-- The nonce is unused when this inserts a row (a live row of the same key and nonce refuses it).
INSERT INTO rpc_nonces (key_id, nonce, expires_ms) VALUES (:key_id, :nonce, :expires_ms)
ON CONFLICT (key_id, nonce) DO UPDATE SET expires_ms = excluded.expires_ms
WHERE rpc_nonces.expires_ms <= :now
RETURNING expires_ms;

-- name: upsert_node
INSERT INTO nodes (id, address, version, host, pid, started_ms, last_seen_ms, released_ms, stopped_ms)
VALUES (:id, :address, :version, :host, :pid, :started_ms, :now, NULL, NULL)
ON CONFLICT (id) DO UPDATE
SET address = excluded.address, version = excluded.version, host = excluded.host, pid = excluded.pid,
    started_ms = excluded.started_ms, last_seen_ms = excluded.last_seen_ms, released_ms = NULL,
    stopped_ms = NULL;

-- name: node_heartbeat
UPDATE nodes SET last_seen_ms = :now, released_ms = NULL WHERE id = :id;

-- name: node_stopped
UPDATE nodes SET last_seen_ms = :now, stopped_ms = :now WHERE id = :id;

-- name: list_nodes
SELECT * FROM nodes ORDER BY started_ms, id;

-- name: mark_node_released
-- Only while the heartbeat seen is still the last one: a node that beat meanwhile is alive.
UPDATE nodes SET released_ms = :now
WHERE id = :id AND last_seen_ms = :last_seen_ms AND released_ms IS NULL AND stopped_ms IS NULL;

-- name: release_owner_executions
-- Through executions_lease: only executions leased now are looked at.
UPDATE executions SET lease_owner = NULL, lease_until_ms = NULL
WHERE lease_until_ms > :now AND lease_owner = :owner;

-- name: release_owner_jobs
UPDATE jobs SET lease_owner = NULL, lease_until_ms = NULL
WHERE lease_owner = :owner AND lease_until_ms IS NOT NULL;

-- name: delete_old_nodes
DELETE FROM nodes WHERE last_seen_ms < :before;
