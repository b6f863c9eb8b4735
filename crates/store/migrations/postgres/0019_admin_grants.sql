-- Every grant of administrator rights, kept for good (a revocation and a
-- new grant add rows, never rewrite them): the two-person rule asks whether
-- one administrator's right descends from another's, through any grant
-- ever made. granted_by NULL: the server's command line.
CREATE TABLE admin_grants (
    grantee_id TEXT NOT NULL,
    granted_by TEXT,
    at BIGINT NOT NULL
);
CREATE INDEX admin_grants_grantee ON admin_grants(grantee_id);
INSERT INTO admin_grants (grantee_id, granted_by, at)
    SELECT id, admin_granted_by, COALESCE(admin_since, created_at) FROM users WHERE is_admin = 1;
