-- Wrong passwords, throttled per account and client (a device cookie's
-- nonce, an SSH key, or "unknown"); a row is written before the password is
-- checked and deleted when it was right.
CREATE TABLE password_failures (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client TEXT NOT NULL,
    ip TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX password_failures_user ON password_failures(user_id, client, at);

-- Wrong second factors since the last right one; at the ceiling the second
-- step stays closed until the mailed unlock link is followed.
ALTER TABLE users ADD COLUMN factor_failures_in_row BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN second_step_frozen_at BIGINT;
