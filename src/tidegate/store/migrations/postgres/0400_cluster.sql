-- Cluster: what must be unique across the servers sharing a store, and the servers themselves.
-- rpc_nonces: the signature nonces of RPC and ACS3 requests, one row per (access key id, nonce) until it
-- expires (the timestamp window); inserting the row is what decides that a nonce is unused.
-- nodes: one row per server (id: its lease-owner id, kept in its data folder); last_seen_ms is its
-- heartbeat, released_ms when another server found it dead and released its leases, stopped_ms when it
-- stopped cleanly.

CREATE TABLE rpc_nonces (
    key_id     TEXT NOT NULL,
    nonce      TEXT NOT NULL,
    expires_ms BIGINT NOT NULL,
    PRIMARY KEY (key_id, nonce)
);

CREATE INDEX rpc_nonces_expires ON rpc_nonces (expires_ms);

CREATE TABLE nodes (
    id           TEXT PRIMARY KEY,
    address      TEXT NOT NULL,
    version      TEXT NOT NULL,
    host         TEXT NOT NULL,
    pid          BIGINT NOT NULL,
    started_ms   BIGINT NOT NULL,
    last_seen_ms BIGINT NOT NULL,
    released_ms  BIGINT,
    stopped_ms   BIGINT
);
