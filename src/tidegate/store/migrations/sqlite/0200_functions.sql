-- Deployed functions: the registry `tidegate deploy` writes and the runtime and the HTTP
-- triggers read. JSON values (env, methods, requirements) are text, as elsewhere in the store.

CREATE TABLE fc_functions (
    service      TEXT NOT NULL,
    name         TEXT NOT NULL,
    code_dir     TEXT NOT NULL,
    handler      TEXT NOT NULL,
    kind         TEXT NOT NULL,
    timeout_ms   BIGINT NOT NULL,
    memory_mb    INTEGER NOT NULL,
    env          TEXT NOT NULL,
    initializer  TEXT,
    http_trigger INTEGER NOT NULL,
    http_methods TEXT NOT NULL,
    requirements TEXT NOT NULL,
    description  TEXT NOT NULL,
    created_ms   BIGINT NOT NULL,
    modified_ms  BIGINT NOT NULL,
    PRIMARY KEY (service, name)
);
