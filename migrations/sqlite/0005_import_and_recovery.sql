-- Imported facts for self-service recovery ("Lost your device?"), stored only as keyed hashes
-- bound to the user, and the groups a user belongs to (for per-group policies).

CREATE TABLE identity_facts (
    user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    date_of_birth_hash TEXT NOT NULL,
    id_last4_hash TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE user_groups (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    group_name TEXT NOT NULL,
    PRIMARY KEY (user_id, group_name)
);
