-- Message service: what could not be delivered is set aside, durably, instead of blocking the rest.
-- mq_quarantined: messages a receive or peek could not render (text XML 1.0 cannot carry, damaged
-- properties), moved out of mq_messages with the reason; kept until the message's retention ends or an
-- operator deletes them. mq_failed_deliveries: pushes that failed terminally (NotifyStrategy's retries
-- used up, or not renderable), with the attempts made and the last failure class; kept one day.

CREATE TABLE mq_quarantined (
    id             BIGSERIAL PRIMARY KEY,
    queue          TEXT NOT NULL,
    message_id     TEXT NOT NULL,
    body           TEXT NOT NULL,
    body_md5       TEXT NOT NULL,
    priority       INTEGER NOT NULL,
    enqueue_ms     BIGINT NOT NULL,
    expire_ms      BIGINT NOT NULL,
    dequeue_count  INTEGER NOT NULL,
    props          TEXT,
    quarantined_ms BIGINT NOT NULL,
    reason         TEXT NOT NULL
);

CREATE INDEX mq_quarantined_queue ON mq_quarantined (queue, id);
CREATE INDEX mq_quarantined_expire ON mq_quarantined (expire_ms);

CREATE TABLE mq_failed_deliveries (
    id           BIGSERIAL PRIMARY KEY,
    topic        TEXT NOT NULL,
    subscription TEXT NOT NULL,
    message_id   TEXT NOT NULL,
    body         TEXT NOT NULL,
    body_md5     TEXT NOT NULL,
    tag          TEXT,
    publish_ms   BIGINT NOT NULL,
    attempts     INTEGER NOT NULL,
    failed_ms    BIGINT NOT NULL,
    failure      TEXT NOT NULL
);

CREATE INDEX mq_failed_deliveries_sub ON mq_failed_deliveries (topic, subscription, id);
CREATE INDEX mq_failed_deliveries_time ON mq_failed_deliveries (failed_ms);
