-- Administrators (users.is_admin, already there): the admin audit log (who
-- did what to whom, why, when, from where), second approvals for one
-- admin's reset of another admin, and the mark an admin reset leaves so the
-- user's next sign-in goes into setting up two-step verification again.
ALTER TABLE users ADD COLUMN two_step_reset_at BIGINT;
CREATE INDEX users_admins ON users(is_admin);

CREATE TABLE admin_audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at BIGINT NOT NULL,
    -- NULL: the server's command line (`twostep admin …`).
    actor_id TEXT,
    actor TEXT NOT NULL,
    target_id TEXT,
    target TEXT NOT NULL,
    action TEXT NOT NULL,
    reason TEXT NOT NULL,
    channel TEXT NOT NULL,
    ip TEXT NOT NULL
);

CREATE TABLE admin_approvals (
    id TEXT PRIMARY KEY,
    action TEXT NOT NULL,
    target_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    requested_by TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    reason TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    decided_by TEXT,
    decided_at BIGINT,
    outcome TEXT
);
-- One open request per account and action.
CREATE UNIQUE INDEX admin_approvals_one_open ON admin_approvals(target_id, action) WHERE decided_at IS NULL;
