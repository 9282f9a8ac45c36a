-- PostgreSQL overrides of sql/mq.sql. Competing receivers skip each other's locked rows
-- (FOR UPDATE SKIP LOCKED) instead of blocking, and never claim the same row twice.

-- name: claim_messages
WITH c AS (
    SELECT id FROM mq_messages
    WHERE queue = :queue AND visible_ms <= :now AND expire_ms > :now
    ORDER BY priority, id
    LIMIT :n
    FOR UPDATE SKIP LOCKED
)
UPDATE mq_messages m
SET visible_ms = :until,
    dequeue_count = m.dequeue_count + 1,
    first_dequeue_ms = CASE WHEN m.first_dequeue_ms = 0 THEN :now ELSE m.first_dequeue_ms END,
    receipt = substr(md5(random()::text || clock_timestamp()::text || m.id::text), 1, 12)
FROM c
WHERE m.id = c.id
RETURNING m.*;

-- name: change_visibility
UPDATE mq_messages
SET visible_ms = :until, receipt = substr(md5(random()::text || clock_timestamp()::text || id::text), 1, 12)
WHERE id = :id AND queue = :queue AND receipt = :receipt AND visible_ms > :now AND expire_ms > :now
RETURNING visible_ms, receipt;

-- name: claim_deliveries
WITH c AS (
    SELECT id FROM mq_deliveries
    WHERE next_ms <= :now AND (lease_until_ms IS NULL OR lease_until_ms <= :now)
    ORDER BY next_ms, id
    LIMIT :n
    FOR UPDATE SKIP LOCKED
)
UPDATE mq_deliveries d
SET lease_owner = :owner, lease_until_ms = :until, attempts = d.attempts + 1
FROM c
WHERE d.id = c.id
RETURNING d.*;
