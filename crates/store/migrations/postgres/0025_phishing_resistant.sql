-- Phishing-resistant factors first.
-- A security key's authenticator model (AAGUID, lowercase hex with dashes;
-- '' when the browser did not say).
ALTER TABLE security_keys ADD COLUMN aaguid TEXT NOT NULL DEFAULT '';
-- The security key or passkey a session's sign-in used (NULL: none).
ALTER TABLE sessions ADD COLUMN signed_in_key TEXT;
-- What "require two-step" asks of members: 'two_step' or 'phishing_resistant',
-- and the authenticator models allowed (AAGUIDs, space-separated; '' = any).
ALTER TABLE workspaces ADD COLUMN two_step_level TEXT NOT NULL DEFAULT 'two_step';
ALTER TABLE workspaces ADD COLUMN allowed_aaguids TEXT NOT NULL DEFAULT '';
-- When the level was raised during an enforced requirement: from when plain
-- two-step stays enforced while the new level's grace period runs.
ALTER TABLE workspaces ADD COLUMN two_step_floor_at BIGINT;
-- SSH access to the workspace's repositories: 'any' key, 'fido' keys only,
-- or 'fido_verified' (FIDO keys marked verify-required); and whether only
-- certificates signed by one of its authorities are accepted.
ALTER TABLE workspaces ADD COLUMN ssh_key_rule TEXT NOT NULL DEFAULT 'any';
ALTER TABLE workspaces ADD COLUMN ssh_certificates_required BIGINT NOT NULL DEFAULT 0;
-- Per-key options as OpenSSH's authorized_keys has them
-- ('verify-required', 'no-touch-required', comma-separated) and the last
-- signature counter a FIDO key reported.
ALTER TABLE ssh_keys ADD COLUMN options TEXT NOT NULL DEFAULT '';
ALTER TABLE ssh_keys ADD COLUMN sk_counter BIGINT;
-- SSH certificate authorities of a workspace. A removed one stays (removed_at
-- set) so that its certificates are refused with the reason.
CREATE TABLE workspace_ssh_cas (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    public_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    removed_at BIGINT
);
CREATE INDEX workspace_ssh_cas_fingerprint ON workspace_ssh_cas(fingerprint);
CREATE INDEX workspace_ssh_cas_workspace ON workspace_ssh_cas(workspace_id);
