-- What a message a person asked for is (e.g. "activation-link"), so such mails can be counted
-- against a budget per user and per address; empty for notices Twofold sends by itself.
ALTER TABLE outbox ADD COLUMN purpose TEXT;
CREATE INDEX outbox_purpose ON outbox(purpose, created_at);
