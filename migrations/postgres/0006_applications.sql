-- Applications that ask Twofold for the second factor over the Duo-compatible APIs. The secret
-- key is sealed with the master key; the integration key is public.

CREATE TABLE applications (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    integration_key TEXT NOT NULL UNIQUE,
    secret_key TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Authentication requests from applications (async ones are read back with auth_status).
CREATE TABLE auth_requests (
    txid TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    factor TEXT NOT NULL,
    result TEXT NOT NULL,
    status TEXT NOT NULL,
    status_msg TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- Which application an audit entry came through (Auth API requests), shown in "Recent activity".
ALTER TABLE audit_log ADD COLUMN application TEXT;
