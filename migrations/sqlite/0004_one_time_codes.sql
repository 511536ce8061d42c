-- Temporary passcodes issued by the help desk (and, later, self-service recovery passcodes):
-- 9 digits, salted keyed hashes, a number of uses and an expiry, who issued them and why.

CREATE TABLE one_time_codes (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    salt TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    uses_left BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    issued_by TEXT,
    reason TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX one_time_codes_user ON one_time_codes(user_id);

-- When the user's first device was stored. Once set, adding a device after the password alone
-- is closed for good: a user who lost every device needs a temporary or recovery passcode.
ALTER TABLE users ADD COLUMN enrolled_at BIGINT;
UPDATE users SET enrolled_at = (SELECT MIN(created_at) FROM devices WHERE devices.user_id = users.id);
