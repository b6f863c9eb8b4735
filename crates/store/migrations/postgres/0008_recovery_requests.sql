-- Self-service recovery after a waiting period: one open request per
-- account, ready at ready_at unless a second factor, a mailed link or the
-- SSH command cancels it first. users.recovery_ready_at mirrors the open
-- request, so every page can show the banner without another query.
CREATE TABLE recovery_requests (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    proof TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    ready_at BIGINT NOT NULL,
    reminded_at BIGINT NOT NULL,
    ended_at BIGINT,
    outcome TEXT,
    ended_how TEXT
);
CREATE INDEX recovery_requests_user ON recovery_requests(user_id, started_at);
CREATE INDEX recovery_requests_open ON recovery_requests(ended_at, reminded_at);
ALTER TABLE users ADD COLUMN recovery_ready_at BIGINT;
