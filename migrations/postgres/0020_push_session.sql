-- The session that started a push (keyed hash of its id): only that session can use the
-- approval to sign in. Empty for pushes an application started (the Auth API waits for them).
ALTER TABLE push_requests ADD COLUMN session_hash TEXT;
