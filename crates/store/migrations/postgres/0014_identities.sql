-- Accounts at OpenID Connect providers: a provider's subject signs in as one
-- twostep account. An account made through a provider has no password (a
-- NULL password hash, checked against a dummy hash like an unknown user).
CREATE TABLE identities (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    subject TEXT NOT NULL,
    email TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    UNIQUE (provider, subject)
);
CREATE INDEX identities_user ON identities(user_id);

-- A trip to a provider in progress (10 minutes): the state's hash, the
-- nonce, the PKCE verifier sealed, the hash of a cookie that binds it to the
-- browser that left, and, when linking or confirming, the account (and, to
-- confirm, the session whose sudo window it opens).
CREATE TABLE oidc_logins (
    state_hash TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    nonce TEXT NOT NULL,
    verifier_enc TEXT NOT NULL,
    browser_hash TEXT NOT NULL,
    link_user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
    confirm_session_hash TEXT,
    next TEXT NOT NULL,
    ip TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX oidc_logins_expiry ON oidc_logins(expires_at);
CREATE INDEX oidc_logins_ip ON oidc_logins(ip);
