//! Wrong passwords per account and client. A row is reserved before the
//! password is checked, so parallel guesses cannot outrun the budget.

use twostep_core::{UnixTime, UserId};

use crate::db;
use crate::{Conn, Result};

pub async fn record(
    c: &mut Conn,
    id: &str,
    user_id: &UserId,
    client: &str,
    ip: &str,
    at: UnixTime,
) -> Result<()> {
    db::query(
        "INSERT INTO password_failures (id, user_id, client, ip, at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(user_id)
    .bind(client)
    .bind(ip)
    .bind(at)
    .execute(c)
    .await?;
    Ok(())
}

/// How many failures this client has in the window, and the oldest one's time.
pub async fn in_window(
    c: &mut Conn,
    user_id: &UserId,
    client: &str,
    since: UnixTime,
) -> Result<(i64, Option<UnixTime>)> {
    db::query_as(
        "SELECT COUNT(*), MIN(at) FROM password_failures WHERE user_id = $1 AND client = $2 AND at > $3",
    )
    .bind(user_id)
    .bind(client)
    .bind(since)
    .fetch_one(c)
    .await
}

/// The right password: this client starts afresh.
pub async fn clear(c: &mut Conn, user_id: &UserId, client: &str) -> Result<()> {
    db::query("DELETE FROM password_failures WHERE user_id = $1 AND client = $2")
        .bind(user_id)
        .bind(client)
        .execute(c)
        .await?;
    Ok(())
}

/// A reservation whose check could not run (the server was busy).
pub async fn release(c: &mut Conn, id: &str) -> Result<()> {
    db::query("DELETE FROM password_failures WHERE id = $1")
        .bind(id)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn delete_before(c: &mut Conn, before: UnixTime) -> Result<u64> {
    let r = db::query("DELETE FROM password_failures WHERE at <= $1")
        .bind(before)
        .execute(c)
        .await?;
    Ok(r.rows_affected())
}
