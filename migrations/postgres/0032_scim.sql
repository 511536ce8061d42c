-- SCIM 2.0 provisioning (issue 18). A connector is a client of /scim/v2/ (Entra ID, Okta, Google…)
-- with its own bearer token, stored as a keyed hash (the token itself is shown once).
CREATE TABLE scim_connectors (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    last_used_at BIGINT
);

-- What a connector last wrote about an account (the SCIM User document, JSON): every published
-- attribute reads back as written. The account's own columns hold what Twofold acts on.
CREATE TABLE scim_users (
    user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    document TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Groups a connector provisions. Membership is `user_groups` under the group's name, so policies
-- and help-desk scopes by group apply to SCIM groups as to imported and directory ones.
CREATE TABLE scim_groups (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL UNIQUE,
    external_id TEXT,
    document TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
