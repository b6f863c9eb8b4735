-- A sign-up waits here until its mailed link is opened; only then is the
-- account made. A sign-up with an address that has an account answers the
-- same and mails that address's owner instead, so the answer tells nothing
-- of which addresses have accounts.
CREATE TABLE signups (
    token_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    email TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX signups_expiry ON signups(expires_at);
