-- twostep as an OAuth 2.0 provider for tools and integrations. Applications
-- are registered by users; a grant is one user's approval of one
-- application (its scopes: the app-password scopes); codes and tokens belong
-- to a grant, so revoking it, or a refresh token used twice, ends them all.
CREATE TABLE oauth_apps (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    redirect_uris TEXT NOT NULL,
    confidential BIGINT NOT NULL,
    secret_hash TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX oauth_apps_owner ON oauth_apps(owner_id);

CREATE TABLE oauth_grants (
    id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES oauth_apps(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    scopes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX oauth_grants_user ON oauth_grants(user_id);

CREATE TABLE oauth_codes (
    code_hash TEXT PRIMARY KEY,
    grant_id TEXT NOT NULL REFERENCES oauth_grants(id) ON DELETE CASCADE,
    redirect_uri TEXT NOT NULL,
    challenge TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- kind: `access` or `refresh`; a refresh token is marked used when it is
-- rotated, and a second use of it revokes the grant.
CREATE TABLE oauth_tokens (
    token_hash TEXT PRIMARY KEY,
    grant_id TEXT NOT NULL REFERENCES oauth_grants(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX oauth_tokens_grant ON oauth_tokens(grant_id);

-- The device authorization grant (RFC 8628): a command-line tool shows a
-- user code; the user enters it on /oauth/device and approves; the tool,
-- polling with the device code (hashed here), then gets its tokens.
CREATE TABLE oauth_devices (
    device_hash TEXT PRIMARY KEY,
    user_code TEXT NOT NULL UNIQUE,
    app_id TEXT NOT NULL REFERENCES oauth_apps(id) ON DELETE CASCADE,
    scopes TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    polled_at BIGINT,
    grant_id TEXT REFERENCES oauth_grants(id) ON DELETE CASCADE,
    denied BIGINT NOT NULL DEFAULT 0
);
