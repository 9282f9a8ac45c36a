-- Named queries of the function registry, shared by both dialects.

-- name: get_function
SELECT * FROM fc_functions WHERE service = :service AND name = :name;

-- name: upsert_function
INSERT INTO fc_functions (service, name, code_dir, handler, kind, timeout_ms, memory_mb, env, initializer,
                          http_trigger, http_methods, http_auth, requirements, description, created_ms,
                          modified_ms)
VALUES (:service, :name, :code_dir, :handler, :kind, :timeout_ms, :memory_mb, :env, :initializer,
        :http_trigger, :http_methods, :http_auth, :requirements, :description, :now_ms, :now_ms)
ON CONFLICT (service, name) DO UPDATE
SET code_dir     = excluded.code_dir,
    handler      = excluded.handler,
    kind         = excluded.kind,
    timeout_ms   = excluded.timeout_ms,
    memory_mb    = excluded.memory_mb,
    env          = excluded.env,
    initializer  = excluded.initializer,
    http_trigger = excluded.http_trigger,
    http_methods = excluded.http_methods,
    http_auth    = excluded.http_auth,
    requirements = excluded.requirements,
    description  = excluded.description,
    modified_ms  = excluded.modified_ms
RETURNING *;

-- name: list_functions
SELECT * FROM fc_functions
WHERE (CAST(:service AS TEXT) IS NULL OR service = :service)
ORDER BY service, name;

-- name: delete_function
DELETE FROM fc_functions WHERE service = :service AND name = :name RETURNING name;

-- name: get_service
SELECT * FROM fc_services WHERE service = :service;

-- name: upsert_service
INSERT INTO fc_services (service, role, description, created_ms, modified_ms)
VALUES (:service, :role, :description, :now_ms, :now_ms)
ON CONFLICT (service) DO UPDATE
SET role        = excluded.role,
    description = excluded.description,
    modified_ms = excluded.modified_ms
RETURNING *;

-- name: list_services
SELECT * FROM fc_services ORDER BY service;

-- name: delete_service
DELETE FROM fc_services WHERE service = :service RETURNING service;
