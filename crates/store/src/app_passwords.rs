//! App passwords: only the SHA-256 of the token is stored.

use twostep_core::{UnixTime, UserId};

use crate::db;
use crate::users::{user_columns, User};
use crate::{Conn, Result};

row_struct! {
    #[derive(Debug, Clone)]
    pub struct AppPassword {
        pub id: String,
        pub user_id: UserId,
        pub label: String,
        pub token_hash: String,
        /// Space-separated scope names.
        pub scopes: String,
        pub created_at: UnixTime,
        pub last_used_at: Option<UnixTime>,
        pub expires_at: UnixTime,
    }
}

pub async fn insert(c: &mut Conn, a: &AppPassword) -> Result<()> {
    db::query(
        "INSERT INTO app_passwords (id, user_id, label, token_hash, scopes, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&a.id)
    .bind(&a.user_id)
    .bind(&a.label)
    .bind(&a.token_hash)
    .bind(&a.scopes)
    .bind(a.created_at)
    .bind(a.expires_at)
    .execute(c)
    .await?;
    Ok(())
}

/// The app password with this token hash and its owner, in one indexed lookup.
pub async fn by_hash_with_user(
    c: &mut Conn,
    token_hash: &str,
) -> Result<Option<(AppPassword, User)>> {
    let row: Option<AppPasswordRow> = db::query_as(concat!(
        "SELECT ",
        user_columns!(),
        ", a_id, a_label, a_token_hash, a_scopes, a_created_at, a_last_used_at, a_expires_at
         FROM users JOIN (SELECT id AS a_id, user_id AS a_user_id, label AS a_label,
             token_hash AS a_token_hash, scopes AS a_scopes, created_at AS a_created_at,
             last_used_at AS a_last_used_at, expires_at AS a_expires_at
           FROM app_passwords WHERE token_hash = $1) a
         ON users.id = a.a_user_id"
    ))
    .bind(token_hash)
    .fetch_optional(c)
    .await?;
    Ok(row.map(|r| {
        let app_password = AppPassword {
            id: r.a_id,
            user_id: r.user.id.clone(),
            label: r.a_label,
            token_hash: r.a_token_hash,
            scopes: r.a_scopes,
            created_at: r.a_created_at,
            last_used_at: r.a_last_used_at,
            expires_at: r.a_expires_at,
        };
        (app_password, r.user)
    }))
}

row_struct! {
    struct AppPasswordRow {
        user: User,
        a_id: String,
        a_label: String,
        a_token_hash: String,
        a_scopes: String,
        a_created_at: UnixTime,
        a_last_used_at: Option<UnixTime>,
        a_expires_at: UnixTime,
    }
}

pub async fn for_user(c: &mut Conn, user_id: &UserId) -> Result<Vec<AppPassword>> {
    db::query_as(
        "SELECT id, user_id, label, token_hash, scopes, created_at, last_used_at, expires_at
         FROM app_passwords WHERE user_id = $1 ORDER BY created_at, id",
    )
    .bind(user_id)
    .fetch_all(c)
    .await
}

pub async fn touch(c: &mut Conn, id: &str, now: UnixTime) -> Result<()> {
    db::query("UPDATE app_passwords SET last_used_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn delete(c: &mut Conn, user_id: &UserId, id: &str) -> Result<Option<AppPassword>> {
    db::query_as(
        "DELETE FROM app_passwords WHERE user_id = $1 AND id = $2
         RETURNING id, user_id, label, token_hash, scopes, created_at, last_used_at, expires_at",
    )
    .bind(user_id)
    .bind(id)
    .fetch_optional(c)
    .await
}

/// Revokes every app password of the account; returns how many there were.
pub async fn delete_all(c: &mut Conn, user_id: &UserId) -> Result<u64> {
    let r = db::query("DELETE FROM app_passwords WHERE user_id = $1")
        .bind(user_id)
        .execute(c)
        .await?;
    Ok(r.rows_affected())
}

/// App passwords expiring after `now` and by `by` whose owner was not yet reminded.
pub async fn due_reminders(c: &mut Conn, now: UnixTime, by: UnixTime) -> Result<Vec<AppPassword>> {
    db::query_as(
        "SELECT id, user_id, label, token_hash, scopes, created_at, last_used_at, expires_at
         FROM app_passwords WHERE expires_at > $1 AND expires_at <= $2 AND reminded_at IS NULL
         ORDER BY expires_at LIMIT 500",
    )
    .bind(now)
    .bind(by)
    .fetch_all(c)
    .await
}

/// Marks the reminder sent: true for exactly one of racing nodes.
pub async fn mark_reminded(c: &mut Conn, id: &str, now: UnixTime) -> Result<bool> {
    let r = db::query(
        "UPDATE app_passwords SET reminded_at = $1 WHERE id = $2 AND reminded_at IS NULL",
    )
    .bind(now)
    .bind(id)
    .execute(c)
    .await?;
    Ok(r.rows_affected() == 1)
}
