//! Recovery codes, stored as keyed hashes and consumed atomically.

use twostep_core::{UnixTime, UserId};

use crate::db;
use crate::{Conn, Result};

/// Replaces the user's whole set; rows are (id, hash) in list order.
pub async fn replace(
    c: &mut Conn,
    user_id: &UserId,
    rows: &[(String, String)],
    now: UnixTime,
) -> Result<()> {
    db::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *c)
        .await?;
    for (position, (id, hash)) in (1i64..).zip(rows) {
        db::query(
            "INSERT INTO recovery_codes (id, user_id, code_hash, created_at, position) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(user_id)
        .bind(hash)
        .bind(now)
        .bind(position)
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

/// Uses a code: true for exactly one of any number of racing callers.
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
