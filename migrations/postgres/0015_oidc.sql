-- Sign in with an OpenID Connect provider: which provider subject is which Twofold user, and the
-- sign-ins already finished (by keyed hash of their state), so a callback works only once.

CREATE TABLE oidc_identities (
    provider TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    last_login_at BIGINT,
    PRIMARY KEY (provider, subject),
    UNIQUE (provider, user_id)
);

CREATE TABLE oidc_used_states (
    state_hash TEXT PRIMARY KEY,
    used_at BIGINT NOT NULL
);
