-- My Settings & Devices: a default device per user, and backup codes (keyed hashes with a salt).

ALTER TABLE devices ADD COLUMN is_default BIGINT NOT NULL DEFAULT 0;
-- Removed devices are kept for a week, so "This wasn't me" can put them back.
ALTER TABLE devices ADD COLUMN removed_at BIGINT;

CREATE TABLE backup_codes (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    salt TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX backup_codes_user ON backup_codes(user_id);
