//! OAuth 2.0: registered applications, grants, authorization codes, tokens.

use twostep_core::{UnixTime, UserId};

use crate::db;
use crate::users::{user_columns, User};
use crate::{Conn, Result};

row_struct! {
    #[derive(Debug, Clone)]
    pub struct App {
        pub id: String,
        pub owner_id: UserId,
        pub name: String,
        /// One per line.
        pub redirect_uris: String,
        pub confidential: bool,
        pub secret_hash: Option<String>,
        pub created_at: UnixTime,
    }
}

pub async fn insert_app(c: &mut Conn, a: &App) -> Result<()> {
    db::query(
        "INSERT INTO oauth_apps (id, owner_id, name, redirect_uris, confidential, secret_hash, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&a.id)
    .bind(&a.owner_id)
    .bind(&a.name)
    .bind(&a.redirect_uris)
    .bind(a.confidential)
    .bind(&a.secret_hash)
    .bind(a.created_at)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn app(c: &mut Conn, id: &str) -> Result<Option<App>> {
    db::query_as(
        "SELECT id, owner_id, name, redirect_uris, confidential, secret_hash, created_at FROM oauth_apps WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(c)
    .await
}

pub async fn apps_of(c: &mut Conn, owner: &UserId) -> Result<Vec<App>> {
    db::query_as(
        "SELECT id, owner_id, name, redirect_uris, confidential, secret_hash, created_at
         FROM oauth_apps WHERE owner_id = $1 ORDER BY created_at, id",
    )
    .bind(owner)
    .fetch_all(c)
    .await
}

row_struct! {
    #[derive(Debug, Clone)]
    pub struct Grant {
        pub id: String,
        pub app_id: String,
        pub user_id: UserId,
        pub scopes: String,
        pub created_at: UnixTime,
        pub revoked_at: Option<UnixTime>,
        pub expires_at: UnixTime,
    }
}

pub async fn insert_grant(c: &mut Conn, g: &Grant) -> Result<()> {
    db::query(
        "INSERT INTO oauth_grants (id, app_id, user_id, scopes, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&g.id)
    .bind(&g.app_id)
    .bind(&g.user_id)
    .bind(&g.scopes)
    .bind(g.created_at)
    .bind(g.expires_at)
    .execute(c)
    .await?;
    Ok(())
}

row_struct! {
    /// A grant with its application's name.
    struct NamedGrant {
        grant: Grant,
        app_name: String,
    }
}

/// Grants with their application's name, chosen by `$where`.
macro_rules! named_grants {
    ($where:literal) => {
        concat!(
            "SELECT g.id, g.app_id, g.user_id, g.scopes, g.created_at, g.revoked_at, g.expires_at, a.name AS app_name
             FROM oauth_grants g JOIN oauth_apps a ON a.id = g.app_id ",
            $where
        )
    };
}

/// A user's live grants with their application's name.
pub async fn grants_of(c: &mut Conn, user: &UserId) -> Result<Vec<(Grant, String)>> {
    let rows: Vec<NamedGrant> = db::query_as(named_grants!(
        "WHERE g.user_id = $1 AND g.revoked_at IS NULL ORDER BY g.created_at, g.id"
    ))
    .bind(user)
    .fetch_all(c)
    .await?;
    Ok(rows.into_iter().map(|r| (r.grant, r.app_name)).collect())
}

/// Ends a grant and every code and token of it; whether it was live.
pub async fn revoke_grant(c: &mut Conn, grant_id: &str, now: UnixTime) -> Result<bool> {
    let r =
        db::query("UPDATE oauth_grants SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(grant_id)
            .execute(&mut *c)
            .await?;
    db::query("DELETE FROM oauth_tokens WHERE grant_id = $1")
        .bind(grant_id)
        .execute(&mut *c)
        .await?;
    db::query("DELETE FROM oauth_codes WHERE grant_id = $1")
        .bind(grant_id)
        .execute(c)
        .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn insert_code(
    c: &mut Conn,
    code_hash: &str,
    grant_id: &str,
    redirect_uri: &str,
    challenge: &str,
    expires_at: UnixTime,
) -> Result<()> {
    db::query(
        "INSERT INTO oauth_codes (code_hash, grant_id, redirect_uri, challenge, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(code_hash)
    .bind(grant_id)
    .bind(redirect_uri)
    .bind(challenge)
    .bind(expires_at)
    .execute(c)
    .await?;
    Ok(())
}

/// Takes a live code, once (it is marked used): (grant id, redirect URI, challenge).
pub async fn take_code(
    c: &mut Conn,
    code_hash: &str,
    now: UnixTime,
) -> Result<Option<(String, String, String)>> {
    db::query_as(
        "UPDATE oauth_codes SET used_at = $2
         WHERE code_hash = $1 AND expires_at > $2 AND used_at IS NULL
         RETURNING grant_id, redirect_uri, challenge",
    )
    .bind(code_hash)
    .bind(now)
    .fetch_optional(c)
    .await
}

/// The grant of a code that was used already (a second use), if it is one.
pub async fn used_code_grant(c: &mut Conn, code_hash: &str) -> Result<Option<String>> {
    db::query_scalar(
        "SELECT grant_id FROM oauth_codes WHERE code_hash = $1 AND used_at IS NOT NULL",
    )
    .bind(code_hash)
    .fetch_optional(c)
    .await
}

/// Codes an hour past their expiry (long enough to tell a second use) and
/// expired tokens.
pub async fn delete_expired(c: &mut Conn, now: UnixTime) -> Result<u64> {
    let codes = db::query("DELETE FROM oauth_codes WHERE expires_at <= $1")
        .bind(now - 3600)
        .execute(&mut *c)
        .await?
        .rows_affected();
    let tokens = db::query("DELETE FROM oauth_tokens WHERE expires_at <= $1")
        .bind(now)
        .execute(c)
        .await?
        .rows_affected();
    Ok(codes + tokens)
}

pub async fn grant(c: &mut Conn, id: &str) -> Result<Option<Grant>> {
    db::query_as(
        "SELECT id, app_id, user_id, scopes, created_at, revoked_at, expires_at FROM oauth_grants WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(c)
    .await
}

pub async fn insert_token(
    c: &mut Conn,
    token_hash: &str,
    grant_id: &str,
    kind: &str,
    expires_at: UnixTime,
) -> Result<()> {
    db::query(
        "INSERT INTO oauth_tokens (token_hash, grant_id, kind, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash)
    .bind(grant_id)
    .bind(kind)
    .bind(expires_at)
    .execute(c)
    .await?;
    Ok(())
}

/// A token row: (grant id, kind, expires at, used at).
pub async fn token(
    c: &mut Conn,
    token_hash: &str,
) -> Result<Option<(String, String, UnixTime, Option<UnixTime>)>> {
    db::query_as(
        "SELECT grant_id, kind, expires_at, used_at FROM oauth_tokens WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(c)
    .await
}

/// Marks a refresh token rotated; false when it was used already.
pub async fn use_refresh(c: &mut Conn, token_hash: &str, now: UnixTime) -> Result<bool> {
    let r = db::query(
        "UPDATE oauth_tokens SET used_at = $1 WHERE token_hash = $2 AND kind = 'refresh' AND used_at IS NULL",
    )
    .bind(now)
    .bind(token_hash)
    .execute(c)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn delete_token(c: &mut Conn, token_hash: &str) -> Result<()> {
    db::query("DELETE FROM oauth_tokens WHERE token_hash = $1")
        .bind(token_hash)
        .execute(c)
        .await?;
    Ok(())
}

/// A live access token's scopes and owner: one indexed join per request.
pub async fn access_with_user(
    c: &mut Conn,
    token_hash: &str,
    now: UnixTime,
) -> Result<Option<(String, User)>> {
    row_struct! {
        struct Row {
            t_scopes: String,
            user: User,
        }
    }
    let row: Option<Row> = db::query_as(concat!(
        "SELECT ",
        user_columns!(),
        ", t_scopes FROM users JOIN (SELECT g.user_id AS t_user_id, g.scopes AS t_scopes
             FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id
             WHERE t.token_hash = $1 AND t.kind = 'access' AND t.expires_at > $2 AND g.revoked_at IS NULL
               AND g.expires_at > $2) x
         ON users.id = x.t_user_id"
    ))
    .bind(token_hash)
    .bind(now)
    .fetch_optional(c)
    .await?;
    Ok(row.map(|r| (r.t_scopes, r.user)))
}

row_struct! {
    #[derive(Debug, Clone)]
    pub struct Device {
        pub device_hash: String,
        pub user_code: String,
        pub app_id: String,
        pub scopes: String,
        pub expires_at: UnixTime,
        pub polled_at: Option<UnixTime>,
        pub grant_id: Option<String>,
        pub denied: i64,
    }
}

/// Live device requests at most (each answers an unauthenticated call).
/// A new device authorization (the caller has counted it against its
/// network's and its application's limits); expired ones are cleared first.
pub async fn insert_device(c: &mut Conn, d: &Device, now: UnixTime) -> Result<bool> {
    db::query("DELETE FROM oauth_devices WHERE expires_at <= $1")
        .bind(now)
        .execute(&mut *c)
        .await?;
    db::query(
        "INSERT INTO oauth_devices (device_hash, user_code, app_id, scopes, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&d.device_hash)
    .bind(&d.user_code)
    .bind(&d.app_id)
    .bind(&d.scopes)
    .bind(d.expires_at)
    .execute(c)
    .await?;
    Ok(true)
}

pub async fn device_by_user_code(
    c: &mut Conn,
    user_code: &str,
    now: UnixTime,
) -> Result<Option<Device>> {
    db::query_as(
        "SELECT device_hash, user_code, app_id, scopes, expires_at, polled_at, grant_id, denied
         FROM oauth_devices WHERE user_code = $1 AND expires_at > $2",
    )
    .bind(user_code)
    .bind(now)
    .fetch_optional(c)
    .await
}

pub async fn device(c: &mut Conn, device_hash: &str) -> Result<Option<Device>> {
    db::query_as(
        "SELECT device_hash, user_code, app_id, scopes, expires_at, polled_at, grant_id, denied
         FROM oauth_devices WHERE device_hash = $1",
    )
    .bind(device_hash)
    .fetch_optional(c)
    .await
}

/// The user's answer; false when it was answered already.
pub async fn decide_device(
    c: &mut Conn,
    device_hash: &str,
    grant_id: Option<&str>,
) -> Result<bool> {
    let r = db::query(
        "UPDATE oauth_devices SET grant_id = $1, denied = $2
         WHERE device_hash = $3 AND grant_id IS NULL AND denied = 0",
    )
    .bind(grant_id)
    .bind(i64::from(grant_id.is_none()))
    .bind(device_hash)
    .execute(c)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn polled(c: &mut Conn, device_hash: &str, now: UnixTime) -> Result<()> {
    db::query("UPDATE oauth_devices SET polled_at = $1 WHERE device_hash = $2")
        .bind(now)
        .bind(device_hash)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn delete_device(c: &mut Conn, device_hash: &str) -> Result<bool> {
    let r = db::query("DELETE FROM oauth_devices WHERE device_hash = $1")
        .bind(device_hash)
        .execute(c)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// When the grant of this live-looking access token expired, if it did.
pub async fn expired_grant_of_token(
    c: &mut Conn,
    token_hash: &str,
    now: UnixTime,
) -> Result<Option<UnixTime>> {
    db::query_scalar(
        "SELECT g.expires_at FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id
         WHERE t.token_hash = $1 AND g.revoked_at IS NULL AND g.expires_at <= $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(c)
    .await
}

/// Live grants expiring after `now` and by `by` whose owner was not yet
/// reminded, with their application's name.
pub async fn due_grant_reminders(
    c: &mut Conn,
    now: UnixTime,
    by: UnixTime,
) -> Result<Vec<(Grant, String)>> {
    let rows: Vec<NamedGrant> = db::query_as(named_grants!(
        "WHERE g.revoked_at IS NULL AND g.expires_at > $1 AND g.expires_at <= $2 AND g.reminded_at IS NULL
         ORDER BY g.expires_at LIMIT 500"
    ))
    .bind(now)
    .bind(by)
    .fetch_all(c)
    .await?;
    Ok(rows.into_iter().map(|r| (r.grant, r.app_name)).collect())
}

/// Marks the reminder sent: true for exactly one of racing nodes.
pub async fn mark_grant_reminded(c: &mut Conn, id: &str, now: UnixTime) -> Result<bool> {
    let r =
        db::query("UPDATE oauth_grants SET reminded_at = $1 WHERE id = $2 AND reminded_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(c)
            .await?;
    Ok(r.rows_affected() == 1)
}
