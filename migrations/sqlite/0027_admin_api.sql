-- The Duo-compatible Admin API (issue 22). An Admin API application holds some of Duo's
-- permissions (a comma-separated list: read_log, read_resource, write_resource, grant_bypass);
-- other kinds of application hold none.
ALTER TABLE applications ADD COLUMN permissions TEXT NOT NULL DEFAULT '';

-- Duo creates a phone first and gives it to a user afterwards (POST /admin/v1/phones, then
-- POST /admin/v1/users/{id}/phones). Until then the phone waits here, its number sealed like
-- every stored number; given to a user, it becomes that user's device under the same id.
CREATE TABLE admin_api_phones (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    phone TEXT NOT NULL,
    extension TEXT,
    created_at BIGINT NOT NULL
);
