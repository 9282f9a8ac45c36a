-- Function services: a service's role (the RAM role its functions' credentials are a session of) and
-- description. A function's service needs no row: a service without one has no role.
-- HTTP triggers get Function Compute's authType: anonymous (anyone) or function (a signed request).

CREATE TABLE fc_services (
    service      TEXT NOT NULL PRIMARY KEY,
    role         TEXT NOT NULL,
    description  TEXT NOT NULL,
    created_ms   BIGINT NOT NULL,
    modified_ms  BIGINT NOT NULL
);

ALTER TABLE fc_functions ADD COLUMN http_auth TEXT NOT NULL DEFAULT 'anonymous';
