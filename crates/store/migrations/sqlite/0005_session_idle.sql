-- Sessions end after 12 hours without use, besides their 7-day limit: the
-- last use is written at most once a minute.
ALTER TABLE sessions ADD COLUMN last_seen_at BIGINT NOT NULL DEFAULT 0;
UPDATE sessions SET last_seen_at = created_at;
CREATE INDEX sessions_expiry ON sessions(expires_at);
CREATE INDEX email_tokens_expiry ON email_tokens(expires_at);
