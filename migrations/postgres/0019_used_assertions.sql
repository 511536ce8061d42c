-- Client assertions (the Universal Prompt's health_check and token requests) already used, by a
-- keyed hash of the application and the assertion's `jti`, until the assertion expires: the same
-- assertion is accepted once.
CREATE TABLE used_assertions (
    jti_hash TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX used_assertions_expiry ON used_assertions(expires_at);
