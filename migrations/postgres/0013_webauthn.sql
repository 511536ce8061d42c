-- Security keys and passkeys (WebAuthn). One row per credential, tied to the device that lists it
-- in My Settings & Devices. The credential (public key and its state, as webauthn-rs keeps it) is
-- sealed with the master key and bound to its user and credential id; the columns beside it are
-- copies for queries and display.

CREATE TABLE webauthn_credentials (
    id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- base64url of the credential id the authenticator chose; unique across all users.
    credential_id TEXT NOT NULL UNIQUE,
    sealed_credential TEXT NOT NULL,
    sign_count BIGINT NOT NULL DEFAULT 0,
    backup_eligible BIGINT NOT NULL DEFAULT 0,
    backup_state BIGINT NOT NULL DEFAULT 0,
    user_verified BIGINT NOT NULL DEFAULT 0,
    -- Set when the key looked cloned (its signature counter went backwards).
    flagged_at BIGINT,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX webauthn_credentials_user ON webauthn_credentials(user_id);

-- A registration or sign-in ceremony in progress: at most one per user and purpose. Starting a
-- new one replaces the old; finishing deletes it first (single use), then verifies.
CREATE TABLE webauthn_ceremonies (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    sealed_state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    UNIQUE (user_id, purpose)
);
