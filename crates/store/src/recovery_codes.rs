//! Recovery codes, stored hashed and consumed atomically: Argon2id rows found
//! by their lookup, and keyed-hash rows of the earlier format.

use twostep_core::{UnixTime, UserId};

use crate::db;
use crate::{Conn, Result};

/// One code of a new set.
pub struct NewCode {
    pub id: String,
    pub lookup: String,
    /// A PHC string.
    pub hash: String,
}

row_struct! {
    /// A stored code found by its lookup.
    #[derive(Debug, Clone)]
    pub struct Found {
        pub id: String,
        pub code_hash: String,
        pub used_at: Option<UnixTime>,
    }
}

/// Replaces the user's whole set; rows in list order.
pub async fn replace(
    c: &mut Conn,
    user_id: &UserId,
    rows: &[NewCode],
    now: UnixTime,
) -> Result<()> {
    db::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *c)
        .await?;
    for (position, row) in (1i64..).zip(rows) {
        db::query(
            "INSERT INTO recovery_codes (id, user_id, code_hash, created_at, position, lookup) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&row.id)
        .bind(user_id)
        .bind(&row.hash)
        .bind(now)
        .bind(position)
        .bind(&row.lookup)
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

/// The code of the user's set with this lookup, used or not.
pub async fn by_lookup(c: &mut Conn, user_id: &UserId, lookup: &str) -> Result<Option<Found>> {
    db::query_as(
        "SELECT id, code_hash, used_at FROM recovery_codes WHERE user_id = $1 AND lookup = $2",
    )
    .bind(user_id)
    .bind(lookup)
    .fetch_optional(c)
    .await
}

/// Uses the code with this id: true for exactly one of any number of racing callers.
#[must_use = "false means the code was used already"]
pub async fn consume_id(c: &mut Conn, id: &str, now: UnixTime) -> Result<bool> {
    let r = db::query("UPDATE recovery_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
        .bind(now)
        .bind(id)
        .execute(c)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Whether the user's set holds this keyed hash, already used (the earlier format).
pub async fn used_legacy(c: &mut Conn, user_id: &UserId, hash: &str) -> Result<bool> {
    let n: i64 = db::query_scalar(
        "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND code_hash = $2 AND used_at IS NOT NULL",
    )
    .bind(user_id)
    .bind(hash)
    .fetch_one(c)
    .await?;
    Ok(n > 0)
}

/// Uses a code of the earlier format by its keyed hash: true for exactly one
/// of any number of racing callers.
#[must_use = "false means the code is wrong or already used"]
pub async fn consume(c: &mut Conn, user_id: &UserId, hash: &str, now: UnixTime) -> Result<bool> {
    let r = db::query(
        "UPDATE recovery_codes SET used_at = $1
         WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
    )
    .bind(now)
    .bind(user_id)
    .bind(hash)
    .execute(c)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// The hash of the code at `position` (1-based) in the user's list.
pub async fn hash_at(c: &mut Conn, user_id: &UserId, position: i64) -> Result<Option<String>> {
    db::query_scalar("SELECT code_hash FROM recovery_codes WHERE user_id = $1 AND position = $2")
        .bind(user_id)
        .bind(position)
        .fetch_optional(c)
        .await
}

pub async fn remaining(c: &mut Conn, user_id: &UserId) -> Result<i64> {
    db::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
        .bind(user_id)
        .fetch_one(c)
        .await
}

pub async fn delete_all(c: &mut Conn, user_id: &UserId) -> Result<()> {
    db::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(c)
        .await?;
    Ok(())
}
