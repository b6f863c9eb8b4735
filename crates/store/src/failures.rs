//! Wrong second factors, counted per account across channels and nodes.

use crate::{Conn, Result};

pub async fn record(c: &mut Conn, id: &str, user_id: &str, at: i64, channel: &str) -> Result<()> {
    sqlx::query(
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

pub async fn count_since(c: &mut Conn, user_id: &str, since: i64) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM second_factor_failures WHERE user_id = $1 AND at > $2",
    )
    .bind(user_id)
    .bind(since)
    .fetch_one(c)
    .await?)
}

pub async fn clear(c: &mut Conn, user_id: &str) -> Result<()> {
    sqlx::query("DELETE FROM second_factor_failures WHERE user_id = $1")
        .bind(user_id)
        .execute(c)
        .await?;
    Ok(())
}

/// Failures older than any window counts them in.
pub async fn delete_before(c: &mut Conn, before: i64) -> Result<u64> {
    let r = sqlx::query("DELETE FROM second_factor_failures WHERE at < $1")
        .bind(before)
        .execute(c)
        .await?;
    Ok(r.rows_affected())
}
