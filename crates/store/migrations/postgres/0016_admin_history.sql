-- Where an administrator's right came from, for the two-person rule: when
-- the current right was granted, by whom (NULL: the server's command line),
-- and when the account first became an administrator (never cleared, so an
-- account that was an administrator stays protected after a revocation).
ALTER TABLE users ADD COLUMN admin_since BIGINT;
ALTER TABLE users ADD COLUMN admin_granted_by TEXT;
ALTER TABLE users ADD COLUMN admin_first_at BIGINT;
UPDATE users SET admin_since = created_at, admin_first_at = created_at WHERE is_admin = 1;
