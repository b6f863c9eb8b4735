-- Hardware OATH tokens from vendors' seed files (RFC 6030 PSKC): an
-- inventory by serial number, the seed sealed like authenticators' secrets;
-- once assigned or claimed, a token is one of its user's authenticators,
-- which now say how their device makes codes.
ALTER TABLE authenticators ADD COLUMN hash TEXT NOT NULL DEFAULT 'sha1';
ALTER TABLE authenticators ADD COLUMN digits BIGINT NOT NULL DEFAULT 6;
ALTER TABLE authenticators ADD COLUMN period BIGINT NOT NULL DEFAULT 30;

CREATE TABLE hardware_tokens (
    serial TEXT PRIMARY KEY,
    manufacturer TEXT NOT NULL,
    secret_enc BYTEA NOT NULL,
    hash TEXT NOT NULL,
    digits BIGINT NOT NULL,
    period BIGINT NOT NULL,
    imported_at BIGINT NOT NULL,
    assigned_to TEXT REFERENCES users(id) ON DELETE SET NULL,
    assigned_at BIGINT,
    authenticator_id TEXT
);
