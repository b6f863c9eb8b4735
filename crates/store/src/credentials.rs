//! Every bearer credential of an account, ended in one call. A password
//! reset, an administrator's reset, a finished self-service recovery and
//! "sign out everywhere" all end the same set; `TABLES` says where each kind
//! lives, and a test fails when a table of the schema is in neither list.

use twostep_core::{UnixTime, UserId};

use crate::db;
use crate::sessions;
use crate::{Conn, Result};

/// Tables that hold something a caller presents to act as the account, and
/// that `revoke_all` ends.
pub const BEARER_TABLES: &[&str] = &[
    "sessions",
    "app_passwords",
    "oauth_grants",
    "oauth_tokens",
    "oauth_codes",
    "oauth_devices",
    "email_tokens",
    "webauthn_states",
];

/// Every other table, and why ending the account's credentials leaves it.
pub const OTHER_TABLES: &[(&str, &str)] = &[
    ("users", "the account itself"),
    (
        "authenticators",
        "second factors: a reset of two-step removes them, a sign-out does not",
    ),
    ("recovery_codes", "second factors, as authenticators"),
    (
        "security_keys",
        "second factors (and passkeys), as authenticators",
    ),
    (
        "ssh_keys",
        "public keys: listed with one-click revoke after a password reset, so Git keeps working",
    ),
    (
        "identities",
        "ways in through a provider: unlinked by the owner",
    ),
    (
        "hardware_tokens",
        "the inventory of token seeds, not bound to a session",
    ),
    ("second_factor_failures", "counters"),
    ("login_failures", "counters"),
    ("login_ceilings", "counters"),
    (
        "signups",
        "sign-ups waiting for their mailed link: no account yet",
    ),
    ("security_log", "history"),
    ("admin_audit", "history"),
    (
        "admin_grants",
        "history of administrator rights, for the two-person rule",
    ),
    ("admin_approvals", "requests between administrators"),
    (
        "recovery_requests",
        "self-service recovery, cancelled on its own terms",
    ),
    ("repositories", "data"),
    ("collaborators", "rights of other accounts"),
    ("workspaces", "data"),
    ("workspace_members", "rights"),
    ("workspace_repositories", "data"),
    (
        "workspace_ssh_cas",
        "a workspace's trusted certificate authorities: its admins', not a member's credential",
    ),
    ("key_checks", "the master key's check value"),
    ("throttles", "counters"),
    (
        "ceremonies_done",
        "marks of finished sign-in ceremonies, so each is used once",
    ),
    (
        "oauth_apps",
        "applications the account registered: clients, not its credentials",
    ),
    ("_sqlx_migrations", "the schema's history"),
];

/// How many of each were ended.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Revoked {
    pub sessions: u64,
    pub app_passwords: u64,
    pub oauth_grants: u64,
    pub oauth_tokens: u64,
    pub links: u64,
}

/// Ends every bearer credential of `user_id` now: sessions (but `keep`),
/// app passwords, OAuth grants with their codes, tokens and device codes,
/// mailed links in flight (expired, not marked used: a used SSH approval
/// would read as approved) and security-key ceremonies. (A trip to a
/// provider travels in the browser; it finishes only while the session that
/// started it is alive, and this ends that session.)
pub async fn revoke_all(
    c: &mut Conn,
    user_id: &UserId,
    now: UnixTime,
    keep: Option<&str>,
) -> Result<Revoked> {
    let mut r = Revoked {
        sessions: sessions::delete_for_user(c, user_id, keep).await?,
        app_passwords: crate::app_passwords::delete_all(c, user_id).await?,
        ..Revoked::default()
    };
    r.oauth_tokens = db::query(
        "DELETE FROM oauth_tokens WHERE grant_id IN (SELECT id FROM oauth_grants WHERE user_id = $1)",
    )
    .bind(user_id)
    .execute(&mut *c)
    .await?
    .rows_affected();
    for sql in [
        "DELETE FROM oauth_codes WHERE grant_id IN (SELECT id FROM oauth_grants WHERE user_id = $1)",
        "DELETE FROM oauth_devices WHERE grant_id IN (SELECT id FROM oauth_grants WHERE user_id = $1)",
        "DELETE FROM webauthn_states WHERE user_id = $1",
    ] {
        db::query(sql).bind(user_id).execute(&mut *c).await?;
    }
    r.oauth_grants = db::query(
        "UPDATE oauth_grants SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(user_id)
    .bind(now)
    .execute(&mut *c)
    .await?
    .rows_affected();
    r.links = db::query(
        "UPDATE email_tokens SET expires_at = $2
         WHERE user_id = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(user_id)
    .bind(now)
    .execute(&mut *c)
    .await?
    .rows_affected();
    Ok(r)
}

/// The tables of the schema, as the database lists them.
pub async fn schema_tables(store: &crate::Store) -> Result<Vec<String>> {
    let mut c = store.conn().await?;
    let sql = match store.backend() {
        crate::Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        }
        crate::Backend::Postgres => {
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name"
        }
    };
    db::query_scalar(sql).fetch_all(&mut c).await
}

/// How many credentials of `user_id` still work now, per bearer table
/// (in the order of `BEARER_TABLES`).
pub async fn live(
    c: &mut Conn,
    user_id: &UserId,
    now: UnixTime,
) -> Result<Vec<(&'static str, i64)>> {
    let counts: [(&'static str, &'static str); 8] = [
        ("sessions", "SELECT COUNT(*) FROM sessions WHERE user_id = $1 AND expires_at > $2"),
        ("app_passwords", "SELECT COUNT(*) FROM app_passwords WHERE user_id = $1"),
        (
            "oauth_grants",
            "SELECT COUNT(*) FROM oauth_grants WHERE user_id = $1 AND revoked_at IS NULL",
        ),
        (
            "oauth_tokens",
            "SELECT COUNT(*) FROM oauth_tokens WHERE expires_at > $2
             AND grant_id IN (SELECT id FROM oauth_grants WHERE user_id = $1)",
        ),
        (
            "oauth_codes",
            "SELECT COUNT(*) FROM oauth_codes WHERE expires_at > $2 AND used_at IS NULL
             AND grant_id IN (SELECT id FROM oauth_grants WHERE user_id = $1)",
        ),
        (
            "oauth_devices",
            "SELECT COUNT(*) FROM oauth_devices WHERE expires_at > $2
             AND grant_id IN (SELECT id FROM oauth_grants WHERE user_id = $1)",
        ),
        (
            "email_tokens",
            "SELECT COUNT(*) FROM email_tokens WHERE user_id = $1 AND used_at IS NULL AND expires_at > $2",
        ),
        (
            "webauthn_states",
            "SELECT COUNT(*) FROM webauthn_states WHERE user_id = $1 AND expires_at > $2",
        ),
    ];
    let mut out = Vec::new();
    for (table, sql) in counts {
        let q = db::query_scalar(sql).bind(user_id);
        let q = if sql.contains("$2") { q.bind(now) } else { q };
        let n: i64 = q.fetch_one(&mut *c).await?;
        out.push((table, n));
    }
    Ok(out)
}
