-- Which device a texted passcode or a call went to, so a sign-in with it shows on that device's
-- "Last used" (issue 20); NULL for codes and calls of enrolment (no device yet).
ALTER TABLE phone_codes ADD COLUMN device_id TEXT;
ALTER TABLE phone_calls ADD COLUMN device_id TEXT;
