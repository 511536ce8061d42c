-- Password attempts are recorded before the password is checked (the throttle reserves them, so
-- parallel guesses cannot pass its limit): the table holds attempts, not only failures, and each
-- row names its attempt so a success can take its own address row back.
ALTER TABLE login_failures RENAME TO login_attempts;
ALTER TABLE login_attempts ADD COLUMN attempt TEXT;
CREATE INDEX login_attempts_attempt ON login_attempts(attempt);
