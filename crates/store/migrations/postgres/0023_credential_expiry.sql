-- App passwords and OAuth grants expire (chosen at creation; a year unless
-- said otherwise). Those made before this get a year from the upgrade.
-- reminded_at: when the owner was mailed that the expiry is near.
ALTER TABLE app_passwords ADD COLUMN expires_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE app_passwords ADD COLUMN reminded_at BIGINT;
UPDATE app_passwords SET expires_at = CAST(EXTRACT(EPOCH FROM now()) AS BIGINT) + 365 * 86400;
CREATE INDEX app_passwords_expiry ON app_passwords(expires_at);
ALTER TABLE oauth_grants ADD COLUMN expires_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE oauth_grants ADD COLUMN reminded_at BIGINT;
UPDATE oauth_grants SET expires_at = CAST(EXTRACT(EPOCH FROM now()) AS BIGINT) + 365 * 86400;
CREATE INDEX oauth_grants_expiry ON oauth_grants(expires_at);
