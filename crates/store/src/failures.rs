//! Wrong second factors, counted per account across channels and nodes.

use twostep_core::{UnixTime, UserId};

use crate::db;
use crate::{Conn, Result};

pub async fn record(
    c: &mut Conn,
    id: &str,
    user_id: &UserId,
    at: UnixTime,
    channel: &str,
) -> Result<()> {
    db::query(
        "INSERT INTO second_factor_failures (id, user_id, at, channel) VALUES ($1, $2, $3, $4)",
    )
    .bind(id)
    .bind(user_id)
    .bind(at)
    .bind(channel)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn count_since(c: &mut Conn, user_id: &UserId, since: UnixTime) -> Result<i64> {
    db::query_scalar("SELECT COUNT(*) FROM second_factor_failures WHERE user_id = $1 AND at > $2")
        .bind(user_id)
        .bind(since)
        .fetch_one(c)
        .await
}

pub async fn clear(c: &mut Conn, user_id: &UserId) -> Result<()> {
    db::query("DELETE FROM second_factor_failures WHERE user_id = $1")
        .bind(user_id)
        .execute(c)
        .await?;
    Ok(())
}

/// Failures older than any window counts them in.
pub async fn delete_before(c: &mut Conn, before: UnixTime) -> Result<u64> {
    let r = db::query("DELETE FROM second_factor_failures WHERE at < $1")
        .bind(before)
        .execute(c)
        .await?;
    Ok(r.rows_affected())
}
