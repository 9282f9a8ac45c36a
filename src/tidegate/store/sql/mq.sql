-- Named queries of the message service, shared by both dialects.
-- Parameters are written :name; sqlite/mq.sql and postgres/mq.sql override the claim queries, which need
-- a per-row random nonce and (PostgreSQL) FOR UPDATE SKIP LOCKED.

-- name: insert_queue
INSERT INTO mq_queues (name, created_s, modified_s, visibility_timeout, maximum_message_size,
                       message_retention_period, delay_seconds, polling_wait_seconds, logging_enabled)
VALUES (:name, :now_s, :now_s, :visibility_timeout, :maximum_message_size, :message_retention_period,
        :delay_seconds, :polling_wait_seconds, :logging_enabled)
ON CONFLICT (name) DO NOTHING
RETURNING *;

-- name: get_queue
SELECT * FROM mq_queues WHERE name = :name;

-- name: update_queue
UPDATE mq_queues
SET visibility_timeout       = COALESCE(:visibility_timeout, visibility_timeout),
    maximum_message_size     = COALESCE(:maximum_message_size, maximum_message_size),
    message_retention_period = COALESCE(:message_retention_period, message_retention_period),
    delay_seconds            = COALESCE(:delay_seconds, delay_seconds),
    polling_wait_seconds     = COALESCE(:polling_wait_seconds, polling_wait_seconds),
    logging_enabled          = COALESCE(:logging_enabled, logging_enabled),
    modified_s               = :now_s
WHERE name = :name
RETURNING *;

-- name: delete_queue
DELETE FROM mq_queues WHERE name = :name RETURNING name;

-- name: delete_queue_messages
DELETE FROM mq_messages WHERE queue = :name;

-- name: list_queues
SELECT * FROM mq_queues
WHERE substr(name, 1, length(CAST(:prefix AS TEXT))) = :prefix
  AND name > :marker
ORDER BY name
LIMIT :limit;

-- name: queue_counts
SELECT
    COALESCE(SUM(CASE WHEN visible_ms <= :now THEN 1 ELSE 0 END), 0) AS active,
    COALESCE(SUM(CASE WHEN visible_ms > :now AND dequeue_count > 0 THEN 1 ELSE 0 END), 0) AS inactive,
    COALESCE(SUM(CASE WHEN visible_ms > :now AND dequeue_count = 0 THEN 1 ELSE 0 END), 0) AS delayed
FROM mq_messages
WHERE queue = :name AND expire_ms > :now;

-- name: insert_message
INSERT INTO mq_messages (queue, message_id, body, body_md5, priority, enqueue_ms, visible_ms, expire_ms,
                         props)
VALUES (:queue, :message_id, :body, :body_md5, :priority, :enqueue_ms, :visible_ms, :expire_ms, :props);

-- name: peek_messages
SELECT * FROM mq_messages
WHERE queue = :queue AND visible_ms <= :now AND expire_ms > :now
ORDER BY priority, id
LIMIT :n;

-- name: get_message
SELECT * FROM mq_messages WHERE id = :id AND queue = :queue;

-- name: delete_message
DELETE FROM mq_messages
WHERE id = :id AND queue = :queue AND receipt = :receipt AND visible_ms > :now AND expire_ms > :now
RETURNING id;

-- name: next_visible
SELECT MIN(visible_ms) AS next_ms FROM mq_messages
WHERE queue = :queue AND visible_ms > :now AND expire_ms > :now;

-- name: expire_messages
DELETE FROM mq_messages WHERE expire_ms <= :now;

-- name: quarantine_message
-- Set a message that cannot be rendered aside (the caller then deletes it from mq_messages).
INSERT INTO mq_quarantined (queue, message_id, body, body_md5, priority, enqueue_ms, expire_ms, dequeue_count,
                            props, quarantined_ms, reason)
SELECT queue, message_id, body, body_md5, priority, enqueue_ms, expire_ms, dequeue_count, props, :now, :reason
FROM mq_messages WHERE id = :id AND queue = :queue;

-- name: drop_message
DELETE FROM mq_messages WHERE id = :id AND queue = :queue;

-- name: list_quarantined
SELECT id, message_id, priority, enqueue_ms, expire_ms, dequeue_count, quarantined_ms, reason
FROM mq_quarantined
WHERE queue = :queue AND expire_ms > :now
ORDER BY id
LIMIT :limit;

-- name: count_quarantined
SELECT COUNT(*) AS n FROM mq_quarantined WHERE queue = :queue AND expire_ms > :now;

-- name: delete_quarantined
DELETE FROM mq_quarantined WHERE id = :id AND queue = :queue RETURNING id;

-- name: delete_queue_quarantined
DELETE FROM mq_quarantined WHERE queue = :name;

-- name: expire_quarantined
DELETE FROM mq_quarantined WHERE expire_ms <= :now;

-- name: insert_topic
INSERT INTO mq_topics (name, created_s, modified_s, maximum_message_size, logging_enabled)
VALUES (:name, :now_s, :now_s, :maximum_message_size, :logging_enabled)
ON CONFLICT (name) DO NOTHING
RETURNING *;

-- name: get_topic
SELECT * FROM mq_topics WHERE name = :name;

-- name: update_topic
UPDATE mq_topics
SET maximum_message_size = COALESCE(:maximum_message_size, maximum_message_size),
    logging_enabled      = COALESCE(:logging_enabled, logging_enabled),
    modified_s           = :now_s
WHERE name = :name
RETURNING *;

-- name: delete_topic
DELETE FROM mq_topics WHERE name = :name RETURNING name;

-- name: delete_topic_subscriptions
DELETE FROM mq_subscriptions WHERE topic = :name;

-- name: delete_topic_deliveries
DELETE FROM mq_deliveries WHERE topic = :name;

-- name: delete_topic_failed
DELETE FROM mq_failed_deliveries WHERE topic = :name;

-- name: list_topics
SELECT * FROM mq_topics
WHERE substr(name, 1, length(CAST(:prefix AS TEXT))) = :prefix
  AND name > :marker
ORDER BY name
LIMIT :limit;

-- name: topic_pending
SELECT COUNT(DISTINCT message_id) AS n FROM mq_deliveries WHERE topic = :name;

-- name: insert_subscription
INSERT INTO mq_subscriptions (topic, name, endpoint, notify_strategy, notify_content_format, filter_tag,
                              created_s, modified_s)
VALUES (:topic, :name, :endpoint, :notify_strategy, :notify_content_format, :filter_tag, :now_s, :now_s)
ON CONFLICT (topic, name) DO NOTHING
RETURNING *;

-- name: get_subscription
SELECT * FROM mq_subscriptions WHERE topic = :topic AND name = :name;

-- name: update_subscription
UPDATE mq_subscriptions
SET notify_strategy = COALESCE(:notify_strategy, notify_strategy),
    modified_s      = :now_s
WHERE topic = :topic AND name = :name
RETURNING *;

-- name: delete_subscription
DELETE FROM mq_subscriptions WHERE topic = :topic AND name = :name RETURNING name;

-- name: delete_subscription_deliveries
DELETE FROM mq_deliveries WHERE topic = :topic AND subscription = :name;

-- name: delete_subscription_failed
DELETE FROM mq_failed_deliveries WHERE topic = :topic AND subscription = :name;

-- name: list_subscriptions
SELECT * FROM mq_subscriptions
WHERE topic = :topic
  AND substr(name, 1, length(CAST(:prefix AS TEXT))) = :prefix
  AND name > :marker
ORDER BY name
LIMIT :limit;

-- name: topic_subscriptions
SELECT * FROM mq_subscriptions WHERE topic = :topic ORDER BY name;

-- name: insert_delivery
INSERT INTO mq_deliveries (topic, subscription, message_id, body, body_md5, tag, publish_ms, next_ms)
VALUES (:topic, :subscription, :message_id, :body, :body_md5, :tag, :publish_ms, :publish_ms);

-- name: delivery_done
DELETE FROM mq_deliveries WHERE id = :id AND lease_owner = :owner;

-- name: delivery_retry
-- attempts was counted when the delivery was claimed.
UPDATE mq_deliveries
SET next_ms = :next_ms, lease_owner = NULL, lease_until_ms = NULL, last_error = :error
WHERE id = :id AND lease_owner = :owner;

-- name: delivery_failed
-- A push that failed terminally is moved to mq_failed_deliveries (the caller then deletes it).
INSERT INTO mq_failed_deliveries (topic, subscription, message_id, body, body_md5, tag, publish_ms, attempts,
                                  failed_ms, failure)
SELECT topic, subscription, message_id, body, body_md5, tag, publish_ms, :attempts, :now, :error
FROM mq_deliveries WHERE id = :id AND lease_owner = :owner;

-- name: expire_failed_deliveries
DELETE FROM mq_failed_deliveries WHERE failed_ms <= :before;

-- name: next_delivery
SELECT MIN(CASE WHEN lease_until_ms IS NOT NULL AND lease_until_ms > next_ms THEN lease_until_ms
                ELSE next_ms END) AS next_ms
FROM mq_deliveries;

-- name: topic_delivery_state
-- Per subscription, the pushes still pending (delivered ones are deleted): count, retries, next try, last error.
SELECT subscription, COUNT(*) AS pending, MAX(attempts) AS max_attempts, MIN(next_ms) AS next_ms,
       MAX(last_error) AS last_error
FROM mq_deliveries WHERE topic = :topic GROUP BY subscription;

-- name: topic_failed_state
-- Per subscription, the pushes that failed terminally: count, when the last one failed and why.
SELECT f.subscription, COUNT(*) AS failed, MAX(f.failed_ms) AS last_failed_ms,
       (SELECT g.failure FROM mq_failed_deliveries g
        WHERE g.topic = f.topic AND g.subscription = f.subscription
        ORDER BY g.id DESC LIMIT 1) AS last_failure
FROM mq_failed_deliveries f WHERE f.topic = :topic GROUP BY f.topic, f.subscription;

-- name: list_failed_deliveries
SELECT id, subscription, message_id, tag, publish_ms, attempts, failed_ms, failure
FROM mq_failed_deliveries
WHERE topic = :topic
ORDER BY id DESC
LIMIT :limit;

-- name: queue_gauges
SELECT q.name AS queue,
    COALESCE(SUM(CASE WHEN m.visible_ms <= :now THEN 1 ELSE 0 END), 0) AS visible,
    COALESCE(SUM(CASE WHEN m.visible_ms > :now AND m.dequeue_count > 0 THEN 1 ELSE 0 END), 0) AS inflight,
    COALESCE(SUM(CASE WHEN m.visible_ms > :now AND m.dequeue_count = 0 THEN 1 ELSE 0 END), 0) AS delayed,
    MIN(m.enqueue_ms) AS oldest_ms
FROM mq_queues q LEFT JOIN mq_messages m ON m.queue = q.name AND m.expire_ms > :now
GROUP BY q.name ORDER BY q.name LIMIT :limit;
