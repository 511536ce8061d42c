-- Universal Prompt (Duo's OIDC-style "Web v4" flow) and application rate limits.

-- The redirect URIs a web application may send users back to (exact match).
CREATE TABLE application_redirect_uris (
    application_id TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    uri TEXT NOT NULL,
    PRIMARY KEY (application_id, uri)
);

-- Authorization codes handed back to a web application after the prompt: keyed hash, single use
-- (used_at set by one conditional UPDATE), 60 seconds.
CREATE TABLE universal_codes (
    code_hash TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    username TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    state TEXT NOT NULL,
    nonce TEXT,
    use_duo_code BIGINT NOT NULL,
    factor TEXT NOT NULL,
    ip TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);

-- Requests per application per minute, shared by every instance on the database.
CREATE TABLE api_rate_limits (
    subject TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    hits BIGINT NOT NULL,
    PRIMARY KEY (subject, window_start)
);
