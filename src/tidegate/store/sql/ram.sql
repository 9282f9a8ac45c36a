-- Named queries of RAM (tidegate.ram.repo), shared by both dialects. Kinds and statuses are parameters.

-- name: generation
SELECT generation FROM ram_state WHERE id = 1;

-- name: bump_generation
UPDATE ram_state SET generation = generation + 1 WHERE id = 1 RETURNING generation;

-- users ---------------------------------------------------------------------------------------------

-- name: insert_user
INSERT INTO ram_users (user_id, name, name_key, display_name, comments, email, mobile, created_ms, modified_ms)
VALUES (:user_id, :name, :name_key, :display_name, :comments, :email, :mobile, :now_ms, :now_ms)
ON CONFLICT (name_key) DO NOTHING
RETURNING *;

-- name: get_user
SELECT * FROM ram_users WHERE name_key = :name_key;

-- name: get_user_by_id
SELECT * FROM ram_users WHERE user_id = :user_id;

-- name: update_user
UPDATE ram_users
SET name = :name, name_key = :name_key, display_name = :display_name, comments = :comments, email = :email,
    mobile = :mobile, modified_ms = :now_ms
WHERE user_id = :user_id
RETURNING *;

-- name: delete_user
DELETE FROM ram_users WHERE user_id = :user_id RETURNING user_id;

-- name: list_users
SELECT * FROM ram_users WHERE name_key > :marker ORDER BY name_key LIMIT :limit;

-- access keys ---------------------------------------------------------------------------------------

-- name: insert_key
INSERT INTO ram_access_keys (key_id, user_id, status, salt, created_ms)
VALUES (:key_id, :user_id, :status, :salt, :now_ms)
RETURNING *;

-- name: get_key
SELECT k.*, u.name AS user_name FROM ram_access_keys k JOIN ram_users u ON u.user_id = k.user_id
WHERE k.key_id = :key_id;

-- name: all_keys
SELECT k.*, u.name AS user_name FROM ram_access_keys k JOIN ram_users u ON u.user_id = k.user_id;

-- name: list_keys
SELECT * FROM ram_access_keys WHERE user_id = :user_id ORDER BY created_ms, key_id;

-- name: count_keys
SELECT COUNT(*) AS n FROM ram_access_keys WHERE user_id = :user_id;

-- name: update_key_status
UPDATE ram_access_keys SET status = :status WHERE key_id = :key_id AND user_id = :user_id RETURNING *;

-- name: delete_key
DELETE FROM ram_access_keys WHERE key_id = :key_id AND user_id = :user_id RETURNING key_id;

-- groups --------------------------------------------------------------------------------------------

-- name: insert_group
INSERT INTO ram_groups (group_id, name, name_key, comments, created_ms, modified_ms)
VALUES (:group_id, :name, :name_key, :comments, :now_ms, :now_ms)
ON CONFLICT (name_key) DO NOTHING
RETURNING *;

-- name: get_group
SELECT * FROM ram_groups WHERE name_key = :name_key;

-- name: update_group
UPDATE ram_groups SET name = :name, name_key = :name_key, comments = :comments, modified_ms = :now_ms
WHERE group_id = :group_id
RETURNING *;

-- name: delete_group
DELETE FROM ram_groups WHERE group_id = :group_id RETURNING group_id;

-- name: list_groups
SELECT * FROM ram_groups WHERE name_key > :marker ORDER BY name_key LIMIT :limit;

-- name: add_member
INSERT INTO ram_group_members (group_id, user_id, joined_ms) VALUES (:group_id, :user_id, :now_ms)
ON CONFLICT (group_id, user_id) DO NOTHING
RETURNING user_id;

-- name: remove_member
DELETE FROM ram_group_members WHERE group_id = :group_id AND user_id = :user_id RETURNING user_id;

-- name: count_members
SELECT COUNT(*) AS n FROM ram_group_members WHERE group_id = :group_id;

-- name: count_groups_of_user
SELECT COUNT(*) AS n FROM ram_group_members WHERE user_id = :user_id;

-- name: groups_of_user
SELECT g.*, m.joined_ms FROM ram_group_members m JOIN ram_groups g ON g.group_id = m.group_id
WHERE m.user_id = :user_id
ORDER BY g.name_key;

-- name: users_of_group
SELECT u.*, m.joined_ms FROM ram_group_members m JOIN ram_users u ON u.user_id = m.user_id
WHERE m.group_id = :group_id AND u.name_key > :marker
ORDER BY u.name_key
LIMIT :limit;

-- custom policies -----------------------------------------------------------------------------------

-- name: insert_policy
INSERT INTO ram_policies (name_key, name, description, default_no, next_no, created_ms, modified_ms)
VALUES (:name_key, :name, :description, 1, 2, :now_ms, :now_ms)
ON CONFLICT (name_key) DO NOTHING
RETURNING *;

-- name: get_policy
SELECT p.*, v.document FROM ram_policies p
JOIN ram_policy_versions v ON v.policy_key = p.name_key AND v.version_no = p.default_no
WHERE p.name_key = :name_key;

-- name: list_policies
SELECT p.*, v.document FROM ram_policies p
JOIN ram_policy_versions v ON v.policy_key = p.name_key AND v.version_no = p.default_no
WHERE p.name_key > :marker
ORDER BY p.name_key
LIMIT :limit;

-- name: update_policy_versions
UPDATE ram_policies SET default_no = :default_no, next_no = :next_no, modified_ms = :now_ms
WHERE name_key = :name_key
RETURNING *;

-- name: update_policy_description
UPDATE ram_policies SET description = :description, modified_ms = :now_ms WHERE name_key = :name_key
RETURNING *;

-- name: delete_policy
DELETE FROM ram_policies WHERE name_key = :name_key RETURNING name_key;

-- name: insert_version
INSERT INTO ram_policy_versions (policy_key, version_no, document, created_ms)
VALUES (:policy_key, :version_no, :document, :now_ms);

-- name: get_version
SELECT * FROM ram_policy_versions WHERE policy_key = :policy_key AND version_no = :version_no;

-- name: list_versions
SELECT * FROM ram_policy_versions WHERE policy_key = :policy_key ORDER BY version_no;

-- name: delete_version
DELETE FROM ram_policy_versions WHERE policy_key = :policy_key AND version_no = :version_no
RETURNING version_no;

-- name: delete_versions
DELETE FROM ram_policy_versions WHERE policy_key = :policy_key;

-- roles ---------------------------------------------------------------------------------------------

-- name: insert_role
INSERT INTO ram_roles (role_id, name, name_key, description, trust_policy, max_session_s, created_ms, modified_ms)
VALUES (:role_id, :name, :name_key, :description, :trust_policy, :max_session_s, :now_ms, :now_ms)
ON CONFLICT (name_key) DO NOTHING
RETURNING *;

-- name: get_role
SELECT * FROM ram_roles WHERE name_key = :name_key;

-- name: update_role
UPDATE ram_roles SET description = :description, trust_policy = :trust_policy, max_session_s = :max_session_s,
    modified_ms = :now_ms
WHERE role_id = :role_id
RETURNING *;

-- name: delete_role
DELETE FROM ram_roles WHERE role_id = :role_id RETURNING role_id;

-- name: list_roles
SELECT * FROM ram_roles WHERE name_key > :marker ORDER BY name_key LIMIT :limit;

-- attachments ---------------------------------------------------------------------------------------

-- name: attach
INSERT INTO ram_attachments (principal_type, principal_id, policy_type, policy_key, attached_ms)
VALUES (:principal_type, :principal_id, :policy_type, :policy_key, :now_ms)
ON CONFLICT (principal_type, principal_id, policy_type, policy_key) DO NOTHING
RETURNING policy_key;

-- name: detach
DELETE FROM ram_attachments
WHERE principal_type = :principal_type AND principal_id = :principal_id AND policy_type = :policy_type
  AND policy_key = :policy_key
RETURNING policy_key;

-- name: count_attached_to
SELECT COUNT(*) AS n FROM ram_attachments WHERE principal_type = :principal_type AND principal_id = :principal_id;

-- name: attached_to
SELECT policy_type, policy_key, attached_ms FROM ram_attachments
WHERE principal_type = :principal_type AND principal_id = :principal_id
ORDER BY policy_type, policy_key;

-- name: attached_by_type
SELECT principal_type, COUNT(*) AS n FROM ram_attachments
WHERE policy_type = :policy_type AND policy_key = :policy_key
GROUP BY principal_type;

-- name: entities_for_policy
SELECT a.principal_type, a.attached_ms, COALESCE(u.name, g.name, r.name) AS name,
       COALESCE(u.display_name, '') AS display_name,
       COALESCE(u.comments, g.comments, r.description) AS comments
FROM ram_attachments a
LEFT JOIN ram_users u ON a.principal_type = :user_type AND u.user_id = a.principal_id
LEFT JOIN ram_groups g ON a.principal_type = :group_type AND g.group_id = a.principal_id
LEFT JOIN ram_roles r ON a.principal_type = :role_type AND r.role_id = a.principal_id
WHERE a.policy_type = :policy_type AND a.policy_key = :policy_key
ORDER BY a.principal_type, 3;

-- name: delete_attachments_of
DELETE FROM ram_attachments WHERE principal_type = :principal_type AND principal_id = :principal_id;

-- name: user_policy_documents
-- The policies in force for a user: its own and its groups' (custom ones with their default version's text).
SELECT a.policy_type, a.policy_key, p.default_no, v.document
FROM ram_attachments a
LEFT JOIN ram_policies p ON a.policy_type = :custom AND p.name_key = a.policy_key
LEFT JOIN ram_policy_versions v ON v.policy_key = p.name_key AND v.version_no = p.default_no
WHERE (a.principal_type = :user_type AND a.principal_id = :user_id)
   OR (a.principal_type = :group_type
       AND a.principal_id IN (SELECT group_id FROM ram_group_members WHERE user_id = :user_id));

-- name: role_policy_documents
SELECT a.policy_type, a.policy_key, p.default_no, v.document
FROM ram_attachments a
LEFT JOIN ram_policies p ON a.policy_type = :custom AND p.name_key = a.policy_key
LEFT JOIN ram_policy_versions v ON v.policy_key = p.name_key AND v.version_no = p.default_no
WHERE a.principal_type = :role_type AND a.principal_id = :role_id;
