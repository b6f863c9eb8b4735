-- Passkeys: discoverable WebAuthn credentials with user verification that
-- sign in with no username or password. They live with the security keys
-- (one page, one removal rule, usable for the second step too); `kind`
-- tells them apart.
ALTER TABLE security_keys ADD COLUMN kind TEXT NOT NULL DEFAULT 'security_key';

-- A password-less sign-in in progress: no account is known until the
-- passkey answers, so only its id and expiry (5 minutes) bind it; the
-- address that asked is kept to cap how many one address holds.
CREATE TABLE passkey_challenges (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    ip TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX passkey_challenges_ip ON passkey_challenges(ip);
CREATE INDEX passkey_challenges_expiry ON passkey_challenges(expires_at);
