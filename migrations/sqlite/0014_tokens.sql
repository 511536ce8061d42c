-- Hardware tokens (OATH HOTP/TOTP tokens and YubiKeys in Yubico OTP mode): the inventory the
-- administrators import. A claimed or assigned token is also a row in `devices` (kind
-- 'hardware_token'), so it shows in My Settings & Devices and counts as a way in.
-- Keep in step with migrations/postgres/0014_tokens.sql.

CREATE TABLE hardware_tokens (
    id TEXT PRIMARY KEY,
    serial TEXT NOT NULL UNIQUE,
    -- 'hotp', 'totp' or 'yubico'
    kind TEXT NOT NULL,
    -- Sealed (context 'hardware-token:<id>'): the OATH seed, or for Yubico the AES key then the private id.
    secret TEXT NOT NULL,
    digits BIGINT NOT NULL DEFAULT 6,
    -- TOTP: seconds per step.
    period BIGINT NOT NULL DEFAULT 30,
    -- HOTP: the next unused counter. TOTP: the last accepted step. Yubico: the last accepted
    -- (use counter << 8 | session counter). Only ever raised by a conditional UPDATE.
    counter BIGINT NOT NULL DEFAULT 0,
    -- Yubico: the modhex public id the token types first.
    public_id TEXT UNIQUE,
    -- 'available', 'assigned' or 'lost'
    status TEXT NOT NULL DEFAULT 'available',
    user_id TEXT REFERENCES users(id) ON DELETE SET NULL,
    device_id TEXT,
    imported_at BIGINT NOT NULL,
    imported_by TEXT NOT NULL,
    assigned_at BIGINT,
    last_used_at BIGINT
);
CREATE INDEX hardware_tokens_user ON hardware_tokens(user_id);
CREATE INDEX hardware_tokens_device ON hardware_tokens(device_id);

-- A checked token file waiting for "Import" (sealed: it holds seeds). Kept for an hour at most.
CREATE TABLE pending_token_imports (
    id TEXT PRIMARY KEY,
    created_by TEXT NOT NULL,
    csv TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
