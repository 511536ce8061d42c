-- The help desk's verification push (issue 16): before a temporary passcode, the agent sends the
-- caller a push; approved, the app shows a code the caller reads back. It never signs anyone in
-- (purpose 'verify' is refused by every use of an approval), and only the agent who sent it
-- sees its code (sealed).
ALTER TABLE push_requests ADD COLUMN purpose TEXT NOT NULL DEFAULT 'login';
ALTER TABLE push_requests ADD COLUMN requested_by TEXT;
ALTER TABLE push_requests ADD COLUMN verification_sealed TEXT;
