-- Phones: numbers on devices (E.164), calls in progress, simulated texts, passcodes sent by text
-- or call (keyed hashes), and every carrier send counted for the anti-pumping budgets.

ALTER TABLE devices ADD COLUMN phone TEXT;
ALTER TABLE devices ADD COLUMN phone_extension TEXT;
CREATE INDEX devices_phone ON devices(phone);

CREATE TABLE phone_calls (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    to_number TEXT NOT NULL,
    purpose TEXT NOT NULL,
    provider TEXT NOT NULL,
    provider_sid TEXT,
    script TEXT NOT NULL,
    status TEXT NOT NULL,
    digits TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX phone_calls_user ON phone_calls(user_id, created_at);

CREATE TABLE phone_texts (
    id TEXT PRIMARY KEY,
    user_id TEXT,
    to_number TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX phone_texts_created ON phone_texts(created_at);

CREATE TABLE phone_codes (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    purpose TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX phone_codes_user ON phone_codes(user_id, code_hash);

CREATE TABLE phone_sends (
    id TEXT PRIMARY KEY,
    user_id TEXT,
    to_number TEXT NOT NULL,
    prefix TEXT NOT NULL,
    kind TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX phone_sends_at ON phone_sends(at);
CREATE INDEX phone_sends_number ON phone_sends(to_number, at);
CREATE INDEX phone_sends_prefix ON phone_sends(prefix, at);
CREATE INDEX phone_sends_user ON phone_sends(user_id, at);

ALTER TABLE enrollments ADD COLUMN phone TEXT;
ALTER TABLE enrollments ADD COLUMN phone_extension TEXT;
ALTER TABLE enrollments ADD COLUMN phone_verified_at BIGINT;
ALTER TABLE enrollments ADD COLUMN phone_call_id TEXT;
ALTER TABLE enrollments ADD COLUMN phone_failures BIGINT NOT NULL DEFAULT 0;
