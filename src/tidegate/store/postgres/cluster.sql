-- PostgreSQL versions of the cluster queries: bounded deletes go through ctid.

-- name: delete_expired_nonces
DELETE FROM rpc_nonces
WHERE ctid IN (SELECT ctid FROM rpc_nonces WHERE expires_ms <= :now LIMIT :limit);
