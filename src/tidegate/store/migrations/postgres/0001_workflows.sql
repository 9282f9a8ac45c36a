-- Workflow domain: settings, flows, executions, inbox, history, timers, tasks, jobs, schedules.
-- Times are epoch milliseconds; JSON is stored as text.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE flows (
    name        TEXT PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    definition  TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    type        TEXT NOT NULL DEFAULT 'FDL',
    role_arn    TEXT NOT NULL DEFAULT '',
    created_ms  BIGINT NOT NULL,
    modified_ms BIGINT NOT NULL
);

-- flow_id (not flow_name) scopes an execution: after DeleteFlow a new flow of the same name starts empty.
CREATE TABLE executions (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    flow_id        TEXT NOT NULL,
    flow_name      TEXT NOT NULL,
    name           TEXT NOT NULL,
    definition     TEXT NOT NULL,
    input          TEXT NOT NULL,
    output         TEXT,
    error          TEXT,
    cause          TEXT,
    status         TEXT NOT NULL,
    state          TEXT,
    version        INTEGER NOT NULL DEFAULT 0,
    started_ms     BIGINT NOT NULL,
    stopped_ms     BIGINT,
    event_count    INTEGER NOT NULL DEFAULT 0,
    callback_token TEXT,
    lease_owner    TEXT,
    lease_until_ms BIGINT,
    UNIQUE (flow_id, name)
);
CREATE INDEX executions_list ON executions (flow_id, started_ms, id);
CREATE INDEX executions_lease ON executions (lease_until_ms);

CREATE TABLE inbox (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    execution_id BIGINT NOT NULL,
    event        TEXT NOT NULL,
    available_ms BIGINT NOT NULL
);
CREATE INDEX inbox_execution ON inbox (execution_id, id);
CREATE INDEX inbox_available ON inbox (available_ms);

CREATE TABLE history (
    execution_id      BIGINT NOT NULL,
    event_id          INTEGER NOT NULL,
    schedule_event_id INTEGER NOT NULL,
    type              TEXT NOT NULL,
    step_name         TEXT NOT NULL,
    time_ms           BIGINT NOT NULL,
    detail            TEXT NOT NULL,
    PRIMARY KEY (execution_id, event_id)
);

CREATE TABLE timers (
    execution_id BIGINT NOT NULL,
    timer_key    TEXT NOT NULL,
    fire_at_ms   BIGINT NOT NULL,
    event        TEXT NOT NULL,
    PRIMARY KEY (execution_id, timer_key)
);
CREATE INDEX timers_due ON timers (fire_at_ms);

CREATE TABLE tasks (
    execution_id BIGINT NOT NULL,
    task_key     TEXT NOT NULL,
    status       TEXT NOT NULL,
    created_ms   BIGINT NOT NULL,
    closed_ms    BIGINT,
    PRIMARY KEY (execution_id, task_key)
);

CREATE TABLE jobs (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind           TEXT NOT NULL,
    payload        TEXT NOT NULL,
    execution_id   BIGINT,
    task_key       TEXT,
    available_ms   BIGINT NOT NULL,
    attempts       INTEGER NOT NULL DEFAULT 0,
    lease_owner    TEXT,
    lease_until_ms BIGINT,
    last_error     TEXT,
    created_ms     BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (kind, available_ms);

CREATE TABLE schedules (
    flow_name    TEXT NOT NULL,
    name         TEXT NOT NULL,
    id           TEXT NOT NULL,
    cron         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    enable       BOOLEAN NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    created_ms   BIGINT NOT NULL,
    modified_ms  BIGINT NOT NULL,
    next_fire_ms BIGINT,
    PRIMARY KEY (flow_name, name)
);
CREATE INDEX schedules_due ON schedules (next_fire_ms);
