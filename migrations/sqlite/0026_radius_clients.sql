-- RADIUS clients added in the console (issue 17); clients in the configuration file are not stored.
-- The shared secret is sealed with the data key (context `radius-secret:<id>`).

CREATE TABLE radius_clients (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    -- Source networks, comma-separated CIDR.
    networks TEXT NOT NULL,
    secret_sealed TEXT NOT NULL,
    mode TEXT NOT NULL,
    -- Groups whose users may sign in through the client, comma-separated (empty: everyone).
    group_names TEXT NOT NULL,
    require_message_authenticator BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
