-- An authorization code is marked used instead of deleted, so that a second
-- use can be told from an unknown code and revoke the tokens issued from it
-- (RFC 6749 section 4.1.2). Housekeeping deletes codes an hour after expiry.
ALTER TABLE oauth_codes ADD COLUMN used_at BIGINT;
