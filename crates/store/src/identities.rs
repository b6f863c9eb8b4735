//! Accounts at OpenID Connect providers, and sign-ins through them in progress.

use sqlx::FromRow;

use twostep_core::{UnixTime, UserId};

use crate::db;
use crate::{Conn, Result};

#[derive(Debug, Clone, FromRow)]
pub struct Identity {
    pub id: String,
    pub user_id: UserId,
    pub provider: String,
    pub subject: String,
    pub email: String,
    pub created_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
}

/// `StoreError::Conflict` when that provider's subject is linked already.
pub async fn insert(c: &mut Conn, i: &Identity) -> Result<()> {
    db::query(
        "INSERT INTO identities (id, user_id, provider, subject, email, created_at, last_used_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&i.id)
    .bind(&i.user_id)
    .bind(&i.provider)
    .bind(&i.subject)
    .bind(&i.email)
    .bind(i.created_at)
    .bind(i.last_used_at)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn by_subject(c: &mut Conn, provider: &str, subject: &str) -> Result<Option<Identity>> {
    db::query_as(
        "SELECT id, user_id, provider, subject, email, created_at, last_used_at
         FROM identities WHERE provider = $1 AND subject = $2",
    )
    .bind(provider)
    .bind(subject)
    .fetch_optional(c)
    .await
}

pub async fn for_user(c: &mut Conn, user_id: &UserId) -> Result<Vec<Identity>> {
    db::query_as(
        "SELECT id, user_id, provider, subject, email, created_at, last_used_at
         FROM identities WHERE user_id = $1 ORDER BY created_at, id",
    )
    .bind(user_id)
    .fetch_all(c)
    .await
}

pub async fn used(c: &mut Conn, id: &str, now: UnixTime) -> Result<()> {
    db::query("UPDATE identities SET last_used_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn delete(c: &mut Conn, user_id: &UserId, id: &str) -> Result<Option<Identity>> {
    db::query_as(
        "DELETE FROM identities WHERE user_id = $1 AND id = $2
         RETURNING id, user_id, provider, subject, email, created_at, last_used_at",
    )
    .bind(user_id)
    .bind(id)
    .fetch_optional(c)
    .await
}

#[derive(Debug, Clone, FromRow)]
pub struct Login {
    pub state_hash: String,
    pub provider: String,
    pub nonce: String,
    pub verifier_enc: String,
    pub browser_hash: String,
    pub link_user_id: Option<UserId>,
    /// Confirming (sudo) rather than linking: the session to open it on.
    pub confirm_session_hash: Option<String>,
    pub next: String,
    /// The address that left, to cap how many trips one address holds.
    pub ip: String,
    pub expires_at: UnixTime,
}

/// Live trips to providers at most, in all and from one address (a flood of
/// clicks must not grow the table, nor one address crowd out the rest).
pub const MAX_LIVE_LOGINS: i64 = 10_000;
pub const MAX_LIVE_LOGINS_PER_IP: i64 = 50;

/// False when too many are live.
pub async fn save_login(c: &mut Conn, l: &Login, now: UnixTime) -> Result<bool> {
    db::query("DELETE FROM oidc_logins WHERE expires_at <= $1")
        .bind(now)
        .execute(&mut *c)
        .await?;
    let (live, mine): (i64, i64) = db::query_as(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN ip = $1 THEN 1 ELSE 0 END), 0) FROM oidc_logins",
    )
    .bind(&l.ip)
    .fetch_one(&mut *c)
    .await?;
    if live >= MAX_LIVE_LOGINS || mine >= MAX_LIVE_LOGINS_PER_IP {
        return Ok(false);
    }
    db::query(
        "INSERT INTO oidc_logins (state_hash, provider, nonce, verifier_enc, browser_hash, link_user_id, confirm_session_hash, next, ip, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&l.state_hash)
    .bind(&l.provider)
    .bind(&l.nonce)
    .bind(&l.verifier_enc)
    .bind(&l.browser_hash)
    .bind(&l.link_user_id)
    .bind(&l.confirm_session_hash)
    .bind(&l.next)
    .bind(&l.ip)
    .bind(l.expires_at)
    .execute(c)
    .await?;
    Ok(true)
}

/// Takes (and removes) a live trip: once, whatever comes of it.
pub async fn take_login(c: &mut Conn, state_hash: &str, now: UnixTime) -> Result<Option<Login>> {
    db::query_as(
        "DELETE FROM oidc_logins WHERE state_hash = $1 AND expires_at > $2
         RETURNING state_hash, provider, nonce, verifier_enc, browser_hash, link_user_id, confirm_session_hash, next, ip, expires_at",
    )
    .bind(state_hash)
    .bind(now)
    .fetch_optional(c)
    .await
}

pub async fn delete_expired_logins(c: &mut Conn, now: UnixTime) -> Result<u64> {
    Ok(db::query("DELETE FROM oidc_logins WHERE expires_at <= $1")
        .bind(now)
        .execute(c)
        .await?
        .rows_affected())
}
