-- Indexes a large database needs (found by bench/growth at 1,000,000 users):
-- deleting a user cascades into auth_requests by user_id, which had no index (a full scan of a
-- table that gains a row per Auth API request); the administrators' dashboard reads audit_log by
-- event and time (a full scan of the largest table on every view).

CREATE INDEX auth_requests_user ON auth_requests(user_id);
CREATE INDEX audit_log_event ON audit_log(event, at);
