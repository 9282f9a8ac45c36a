-- RAM: the account's users, their AccessKeys, groups, custom policies and their versions, roles, and
-- which policies are attached to whom. User, group and role names are unique case-insensitively (name_key
-- is the lower-case name) and referred to by immutable ids, so a rename touches one row; policy names are
-- case-sensitive, as RAM's (a policy's name_key is its name).
-- An AccessKey row holds no secret: the secret is derived from the root key, the key id and the salt.
-- ram_state.generation is bumped by every RAM write, so servers sharing the store notice changes.

CREATE TABLE ram_users (
    user_id      TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    name_key     TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    comments     TEXT NOT NULL,
    email        TEXT NOT NULL,
    mobile       TEXT NOT NULL,
    created_ms   BIGINT NOT NULL,
    modified_ms  BIGINT NOT NULL
);

CREATE TABLE ram_access_keys (
    key_id     TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    status     TEXT NOT NULL,
    salt       TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);

CREATE INDEX ram_access_keys_user ON ram_access_keys (user_id);

CREATE TABLE ram_groups (
    group_id    TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL UNIQUE,
    comments    TEXT NOT NULL,
    created_ms  BIGINT NOT NULL,
    modified_ms BIGINT NOT NULL
);

CREATE TABLE ram_group_members (
    group_id  TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    joined_ms BIGINT NOT NULL,
    PRIMARY KEY (group_id, user_id)
);

CREATE INDEX ram_group_members_user ON ram_group_members (user_id);

CREATE TABLE ram_policies (
    name_key        TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    description     TEXT NOT NULL,
    default_no      INTEGER NOT NULL,
    next_no         INTEGER NOT NULL,
    created_ms      BIGINT NOT NULL,
    modified_ms     BIGINT NOT NULL
);

CREATE TABLE ram_policy_versions (
    policy_key TEXT NOT NULL,
    version_no INTEGER NOT NULL,
    document   TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (policy_key, version_no)
);

CREATE TABLE ram_roles (
    role_id       TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    name_key      TEXT NOT NULL UNIQUE,
    description   TEXT NOT NULL,
    trust_policy  TEXT NOT NULL,
    max_session_s INTEGER NOT NULL,
    created_ms    BIGINT NOT NULL,
    modified_ms   BIGINT NOT NULL
);

CREATE TABLE ram_attachments (
    principal_type TEXT NOT NULL,
    principal_id   TEXT NOT NULL,
    policy_type    TEXT NOT NULL,
    policy_key     TEXT NOT NULL,
    attached_ms    BIGINT NOT NULL,
    PRIMARY KEY (principal_type, principal_id, policy_type, policy_key)
);

CREATE INDEX ram_attachments_policy ON ram_attachments (policy_type, policy_key);

CREATE TABLE ram_state (
    id         INTEGER PRIMARY KEY,
    generation BIGINT NOT NULL
);

INSERT INTO ram_state (id, generation) VALUES (1, 0);
