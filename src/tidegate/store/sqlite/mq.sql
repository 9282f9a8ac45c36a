-- SQLite overrides of sql/mq.sql. Claims run under BEGIN IMMEDIATE, so no other writer can interleave.
-- RETURNING does not keep the subquery's order: callers sort by (priority, id).

-- name: claim_messages
UPDATE mq_messages
SET visible_ms = :until,
    dequeue_count = dequeue_count + 1,
    first_dequeue_ms = CASE WHEN first_dequeue_ms = 0 THEN :now ELSE first_dequeue_ms END,
    receipt = lower(hex(randomblob(6)))
WHERE id IN (
    SELECT id FROM mq_messages
    WHERE queue = :queue AND visible_ms <= :now AND expire_ms > :now
    ORDER BY priority, id
    LIMIT :n
)
RETURNING *;

-- name: change_visibility
UPDATE mq_messages
SET visible_ms = :until, receipt = lower(hex(randomblob(6)))
WHERE id = :id AND queue = :queue AND receipt = :receipt AND visible_ms > :now AND expire_ms > :now
RETURNING visible_ms, receipt;

-- name: claim_deliveries
UPDATE mq_deliveries
SET lease_owner = :owner, lease_until_ms = :until, attempts = attempts + 1
WHERE id IN (
    SELECT id FROM mq_deliveries
    WHERE next_ms <= :now AND (lease_until_ms IS NULL OR lease_until_ms <= :now)
    ORDER BY next_ms, id
    LIMIT :n
)
RETURNING *;
