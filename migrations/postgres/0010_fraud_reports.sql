-- Fraud reports: a user said a change or a sign-in request was not theirs. Administrators clear
-- them, lock the account, or contact the user.

CREATE TABLE fraud_reports (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    method TEXT NOT NULL,
    detail TEXT NOT NULL,
    ip TEXT,
    application TEXT,
    status TEXT NOT NULL,
    handled_by TEXT,
    handled_at BIGINT
);
CREATE INDEX fraud_reports_status ON fraud_reports(status, at);
