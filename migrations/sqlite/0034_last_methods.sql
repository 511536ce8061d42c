-- The method a user last signed in with, per device and per application ('' for the portal), so
-- the prompt shows it first (issue 20). Written in the same transaction as the sign-in it records.
CREATE TABLE last_methods (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    application TEXT NOT NULL,
    device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    method TEXT NOT NULL,
    used_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, application, device_id)
);
