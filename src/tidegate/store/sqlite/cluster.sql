-- SQLite versions of the cluster queries: bounded deletes go through rowid.

-- name: delete_expired_nonces
DELETE FROM rpc_nonces
WHERE rowid IN (SELECT rowid FROM rpc_nonces WHERE expires_ms <= :now LIMIT :limit);
