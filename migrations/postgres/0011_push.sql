-- Push: the Twofold authenticator's device keys, single-use activation links, and push requests
-- (pending → approved / denied / fraud / timed_out / cancelled, exactly one final state).

CREATE TABLE push_keys (
    device_id TEXT PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    public_key TEXT NOT NULL,
    activated_at BIGINT NOT NULL
);
CREATE INDEX push_keys_user ON push_keys(user_id);

CREATE TABLE push_activations (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    token_sealed TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    enrollment_id TEXT,
    device_id TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX push_activations_enrollment ON push_activations(enrollment_id);

CREATE TABLE push_requests (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    number TEXT NOT NULL,
    status TEXT NOT NULL,
    application TEXT NOT NULL,
    username TEXT NOT NULL,
    ip TEXT,
    user_agent TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    answered_at BIGINT,
    device_id TEXT,
    consumed_at BIGINT
);
CREATE INDEX push_requests_user ON push_requests(user_id, created_at);

-- Web Push subscriptions of activated apps (RFC 8291 keys; the endpoint is the push service's).
CREATE TABLE push_subscriptions (
    device_id TEXT PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
    endpoint TEXT NOT NULL,
    p256dh TEXT NOT NULL,
    auth TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
