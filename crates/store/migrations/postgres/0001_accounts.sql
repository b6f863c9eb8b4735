-- Accounts, sessions, mailed links, authenticators, recovery codes, SSH keys,
-- second-factor failures and the security log. Times are unix seconds (BIGINT),
-- ids are text: the Any driver carries only those portably.
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL,
    email_lower TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    email_confirmed_at BIGINT,
    two_step_enabled_at BIGINT,
    second_step_locked_until BIGINT,
    is_admin BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    stage TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    sudo_until BIGINT,
    -- Fresh recovery codes, sealed, kept briefly so they can be downloaded or printed.
    revealed_codes BYTEA,
    revealed_until BIGINT
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE email_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    subject TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX email_tokens_user ON email_tokens(user_id, purpose);

CREATE TABLE authenticators (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    secret_enc BYTEA NOT NULL,
    status TEXT NOT NULL,
    last_step BIGINT,
    created_at BIGINT NOT NULL,
    activated_at BIGINT,
    last_used_at BIGINT
);
CREATE INDEX authenticators_user ON authenticators(user_id);

CREATE TABLE recovery_codes (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at BIGINT,
    UNIQUE (user_id, code_hash)
);

CREATE TABLE ssh_keys (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    public_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL UNIQUE,
    bits BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX ssh_keys_user ON ssh_keys(user_id);

CREATE TABLE second_factor_failures (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    channel TEXT NOT NULL
);
CREATE INDEX second_factor_failures_user ON second_factor_failures(user_id, at);

CREATE TABLE security_log (
    seq BIGSERIAL PRIMARY KEY,
    user_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    event TEXT NOT NULL,
    detail TEXT NOT NULL,
    channel TEXT NOT NULL,
    ip TEXT NOT NULL
);
CREATE INDEX security_log_user ON security_log(user_id, seq);
