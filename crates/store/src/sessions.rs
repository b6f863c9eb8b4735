use sqlx::FromRow;

use crate::{Conn, Result};

pub const STAGE_SECOND_STEP: &str = "second_step";
pub const STAGE_FULL: &str = "full";

#[derive(Debug, Clone, FromRow)]
pub struct Session {
    pub token_hash: String,
    pub user_id: String,
    pub stage: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub sudo_until: Option<i64>,
}

pub async fn insert(c: &mut Conn, s: &Session) -> Result<()> {
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, stage, created_at, expires_at, sudo_until)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&s.token_hash)
    .bind(&s.user_id)
    .bind(&s.stage)
    .bind(s.created_at)
    .bind(s.expires_at)
    .bind(s.sudo_until)
    .execute(c)
    .await?;
    Ok(())
}

/// A live session (not expired at `now`).
pub async fn get(c: &mut Conn, token_hash: &str, now: i64) -> Result<Option<Session>> {
    Ok(sqlx::query_as(
        "SELECT token_hash, user_id, stage, created_at, expires_at, sudo_until
         FROM sessions WHERE token_hash = $1 AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(c)
    .await?)
}

pub async fn delete(c: &mut Conn, token_hash: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(c)
        .await?;
    Ok(())
}

/// Signs the user out everywhere except, optionally, one session.
pub async fn delete_for_user(c: &mut Conn, user_id: &str, keep: Option<&str>) -> Result<u64> {
    let r = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
        .bind(user_id)
        .bind(keep.unwrap_or(""))
        .execute(c)
        .await?;
    Ok(r.rows_affected())
}

pub async fn delete_expired(c: &mut Conn, now: i64) -> Result<u64> {
    let r = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(c)
        .await?;
    Ok(r.rows_affected())
}

/// A fresh, authenticated second factor: security settings may change until `until`.
pub async fn set_sudo(c: &mut Conn, token_hash: &str, until: i64) -> Result<()> {
    sqlx::query("UPDATE sessions SET sudo_until = $1 WHERE token_hash = $2")
        .bind(until)
        .bind(token_hash)
        .execute(c)
        .await?;
    Ok(())
}

/// Keeps freshly made recovery codes (sealed) for download and print until `until`.
pub async fn set_revealed(c: &mut Conn, token_hash: &str, sealed: &[u8], until: i64) -> Result<()> {
    sqlx::query(
        "UPDATE sessions SET revealed_codes = $1, revealed_until = $2 WHERE token_hash = $3",
    )
    .bind(sealed)
    .bind(until)
    .bind(token_hash)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn revealed(c: &mut Conn, token_hash: &str, now: i64) -> Result<Option<Vec<u8>>> {
    Ok(sqlx::query_scalar(
        "SELECT revealed_codes FROM sessions
         WHERE token_hash = $1 AND revealed_until > $2 AND revealed_codes IS NOT NULL",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(c)
    .await?)
}

/// The session keeps its token but moves to another stage (after the second step).
pub async fn promote(c: &mut Conn, old_hash: &str, new: &Session) -> Result<()> {
    delete(&mut *c, old_hash).await?;
    insert(c, new).await
}
