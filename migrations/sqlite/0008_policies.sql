-- Policy set in the console; each row overrides the configuration's default for one rule.

CREATE TABLE policies (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT
);
