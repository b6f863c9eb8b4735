//! App passwords: only the SHA-256 of the token is stored.

use sqlx::FromRow;

use twostep_core::{UnixTime, UserId};

use crate::{Conn, Result};

#[derive(Debug, Clone, FromRow)]
pub struct AppPassword {
    pub id: String,
    pub user_id: UserId,
    pub label: String,
    pub token_hash: String,
    /// Space-separated scope names.
    pub scopes: String,
    pub created_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
}

pub async fn insert(c: &mut Conn, a: &AppPassword) -> Result<()> {
    sqlx::query(
        "INSERT INTO app_passwords (id, user_id, label, token_hash, scopes, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&a.id)
    .bind(&a.user_id)
    .bind(&a.label)
    .bind(&a.token_hash)
    .bind(&a.scopes)
    .bind(a.created_at)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn by_hash(c: &mut Conn, token_hash: &str) -> Result<Option<AppPassword>> {
    Ok(sqlx::query_as(
        "SELECT id, user_id, label, token_hash, scopes, created_at, last_used_at
         FROM app_passwords WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(c)
    .await?)
}

pub async fn for_user(c: &mut Conn, user_id: &UserId) -> Result<Vec<AppPassword>> {
    Ok(sqlx::query_as(
        "SELECT id, user_id, label, token_hash, scopes, created_at, last_used_at
         FROM app_passwords WHERE user_id = $1 ORDER BY created_at, id",
    )
    .bind(user_id)
    .fetch_all(c)
    .await?)
}

pub async fn touch(c: &mut Conn, id: &str, now: UnixTime) -> Result<()> {
    sqlx::query("UPDATE app_passwords SET last_used_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn delete(c: &mut Conn, user_id: &UserId, id: &str) -> Result<Option<AppPassword>> {
    Ok(sqlx::query_as(
        "DELETE FROM app_passwords WHERE user_id = $1 AND id = $2
         RETURNING id, user_id, label, token_hash, scopes, created_at, last_used_at",
    )
    .bind(user_id)
    .bind(id)
    .fetch_optional(c)
    .await?)
}

/// Revokes every app password of the account; returns how many there were.
pub async fn delete_all(c: &mut Conn, user_id: &UserId) -> Result<u64> {
    let r = sqlx::query("DELETE FROM app_passwords WHERE user_id = $1")
        .bind(user_id)
        .execute(c)
        .await?;
    Ok(r.rows_affected())
}
