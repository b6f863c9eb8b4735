-- Wrong passwords are counted per subject: an account's id, or for a login
-- that names no account a keyed hash of it ("?" and hex), so an unknown
-- name is paused exactly like a real one. The table had a foreign key to
-- users; it is made anew without it (rows of deleted accounts leave with the
-- window, as every row does).
CREATE TABLE login_failures (
    id TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    client TEXT NOT NULL,
    ip TEXT NOT NULL,
    at BIGINT NOT NULL
);
INSERT INTO login_failures (id, subject, client, ip, at)
    SELECT id, user_id, client, ip, at FROM password_failures;
DROP TABLE password_failures;
CREATE INDEX login_failures_subject ON login_failures(subject, client, at);
CREATE INDEX login_failures_at ON login_failures(at);

-- Wrong passwords in a row per subject, over every client and window: at
-- 100, clients without the account's device cookie are paused until the
-- owner signs in from a known browser or follows the mailed unlock link.
CREATE TABLE login_ceilings (
    subject TEXT PRIMARY KEY,
    in_row BIGINT NOT NULL,
    last_at BIGINT NOT NULL
);
