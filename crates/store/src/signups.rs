//! Sign-ups waiting for their mailed link: no account exists until it is
//! opened. Only the token's hash is stored.

use twostep_core::UnixTime;

use crate::db;
use crate::{Conn, Result};

row_struct! {
    #[derive(Debug, Clone)]
    pub struct Signup {
        pub token_hash: String,
        pub username: String,
        pub email: String,
        /// A PHC string.
        pub password_hash: String,
        pub created_at: UnixTime,
        pub expires_at: UnixTime,
    }
}

pub async fn insert(c: &mut Conn, s: &Signup) -> Result<()> {
    db::query(
        "INSERT INTO signups (token_hash, username, email, password_hash, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&s.token_hash)
    .bind(&s.username)
    .bind(&s.email)
    .bind(&s.password_hash)
    .bind(s.created_at)
    .bind(s.expires_at)
    .execute(c)
    .await?;
    Ok(())
}

/// The live sign-up with this token hash, left in place.
pub async fn peek(c: &mut Conn, token_hash: &str, now: UnixTime) -> Result<Option<Signup>> {
    db::query_as(
        "SELECT token_hash, username, email, password_hash, created_at, expires_at FROM signups
         WHERE token_hash = $1 AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(c)
    .await
}

/// Takes the live sign-up with this token hash: it is used up, for exactly
/// one of any number of racing callers.
pub async fn take(c: &mut Conn, token_hash: &str, now: UnixTime) -> Result<Option<Signup>> {
    db::query_as(
        "DELETE FROM signups WHERE token_hash = $1 AND expires_at > $2
         RETURNING token_hash, username, email, password_hash, created_at, expires_at",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(c)
    .await
}

pub async fn delete_expired(c: &mut Conn, now: UnixTime) -> Result<u64> {
    let r = db::query("DELETE FROM signups WHERE expires_at <= $1")
        .bind(now)
        .execute(c)
        .await?;
    Ok(r.rows_affected())
}
