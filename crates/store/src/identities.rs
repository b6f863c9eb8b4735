//! Accounts at OpenID Connect providers, and sign-ins through them in progress.

use twostep_core::{UnixTime, UserId};

use crate::db;
use crate::{Conn, Result};

row_struct! {
    #[derive(Debug, Clone)]
    pub struct Identity {
        pub id: String,
        pub user_id: UserId,
        pub provider: String,
        pub subject: String,
        pub email: String,
        pub created_at: UnixTime,
        pub last_used_at: Option<UnixTime>,
    }
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
