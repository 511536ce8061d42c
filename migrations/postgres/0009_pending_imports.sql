-- A checked import waiting for the administrator's "Import" (the CSV is sealed: it may hold
-- identity facts). Kept for an hour at most.

CREATE TABLE pending_imports (
    id TEXT PRIMARY KEY,
    created_by TEXT NOT NULL,
    csv TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
