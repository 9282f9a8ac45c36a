-- Message service: queues, their messages, topics, subscriptions and the push outbox.
-- Times: queue/topic/subscription create/modify in epoch seconds (as the MNS wire shows them), message
-- and delivery times in epoch milliseconds.

CREATE TABLE mq_queues (
    name                     TEXT PRIMARY KEY,
    created_s                INTEGER NOT NULL,
    modified_s               INTEGER NOT NULL,
    visibility_timeout       INTEGER NOT NULL,
    maximum_message_size     INTEGER NOT NULL,
    message_retention_period INTEGER NOT NULL,
    delay_seconds            INTEGER NOT NULL,
    polling_wait_seconds     INTEGER NOT NULL,
    logging_enabled          INTEGER NOT NULL
);

-- visible_ms: when the message can next be received (end of its delay or of its invisibility).
-- receipt: the nonce of the current receipt handle (NULL until first received).
CREATE TABLE mq_messages (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    queue            TEXT NOT NULL,
    message_id       TEXT NOT NULL,
    body             TEXT NOT NULL,
    body_md5         TEXT NOT NULL,
    priority         INTEGER NOT NULL,
    enqueue_ms       BIGINT NOT NULL,
    visible_ms       BIGINT NOT NULL,
    expire_ms        BIGINT NOT NULL,
    dequeue_count    INTEGER NOT NULL DEFAULT 0,
    first_dequeue_ms BIGINT NOT NULL DEFAULT 0,
    receipt          TEXT,
    props            TEXT
);

CREATE INDEX mq_messages_claim ON mq_messages (queue, priority, id);
CREATE INDEX mq_messages_visible ON mq_messages (queue, visible_ms);
CREATE INDEX mq_messages_expire ON mq_messages (expire_ms);

CREATE TABLE mq_topics (
    name                 TEXT PRIMARY KEY,
    created_s            INTEGER NOT NULL,
    modified_s           INTEGER NOT NULL,
    maximum_message_size INTEGER NOT NULL,
    logging_enabled      INTEGER NOT NULL
);

CREATE TABLE mq_subscriptions (
    topic                 TEXT NOT NULL,
    name                  TEXT NOT NULL,
    endpoint              TEXT NOT NULL,
    notify_strategy       TEXT NOT NULL,
    notify_content_format TEXT NOT NULL,
    filter_tag            TEXT,
    created_s             INTEGER NOT NULL,
    modified_s            INTEGER NOT NULL,
    PRIMARY KEY (topic, name)
);

-- The push outbox: one row per (published message, matching subscription) until delivered or given up.
CREATE TABLE mq_deliveries (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    topic          TEXT NOT NULL,
    subscription   TEXT NOT NULL,
    message_id     TEXT NOT NULL,
    body           TEXT NOT NULL,
    body_md5       TEXT NOT NULL,
    tag            TEXT,
    publish_ms     BIGINT NOT NULL,
    attempts       INTEGER NOT NULL DEFAULT 0,
    next_ms        BIGINT NOT NULL,
    lease_owner    TEXT,
    lease_until_ms BIGINT,
    last_error     TEXT
);

CREATE INDEX mq_deliveries_due ON mq_deliveries (next_ms);
CREATE INDEX mq_deliveries_sub ON mq_deliveries (topic, subscription);
