//! Wrong passwords per subject (an account's id, or the keyed hash of a
//! login that names no account) and client. A row is reserved before the
//! password is checked, so parallel guesses cannot outrun the budget; the
//! ceiling counts wrong passwords in a row over every client and window.

use twostep_core::UnixTime;

use crate::db;
use crate::{Conn, Result};

pub async fn record(
    c: &mut Conn,
    id: &str,
    subject: &str,
    client: &str,
    ip: &str,
    at: UnixTime,
) -> Result<()> {
    db::query(
        "INSERT INTO login_failures (id, subject, client, ip, at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(subject)
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
    subject: &str,
    client: &str,
    since: UnixTime,
) -> Result<(i64, Option<UnixTime>)> {
    db::query_as(
        "SELECT COUNT(*), MIN(at) FROM login_failures WHERE subject = $1 AND client = $2 AND at > $3",
    )
    .bind(subject)
    .bind(client)
    .bind(since)
    .fetch_one(c)
    .await
}

/// The right password: this client starts afresh.
pub async fn clear(c: &mut Conn, subject: &str, client: &str) -> Result<()> {
    db::query("DELETE FROM login_failures WHERE subject = $1 AND client = $2")
        .bind(subject)
        .bind(client)
        .execute(c)
        .await?;
    Ok(())
}

/// A reservation whose check could not run (the server was busy).
pub async fn release(c: &mut Conn, id: &str) -> Result<()> {
    db::query("DELETE FROM login_failures WHERE id = $1")
        .bind(id)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn delete_before(c: &mut Conn, before: UnixTime) -> Result<u64> {
    let r = db::query("DELETE FROM login_failures WHERE at <= $1")
        .bind(before)
        .execute(c)
        .await?;
    Ok(r.rows_affected())
}

/// Wrong passwords in a row for `subject`.
pub async fn in_row(c: &mut Conn, subject: &str) -> Result<i64> {
    let n: Option<i64> = db::query_scalar("SELECT in_row FROM login_ceilings WHERE subject = $1")
        .bind(subject)
        .fetch_optional(c)
        .await?;
    Ok(n.unwrap_or(0))
}

/// One more wrong password in a row; the count with it.
pub async fn add_in_row(c: &mut Conn, subject: &str, at: UnixTime) -> Result<i64> {
    db::query_scalar(
        "INSERT INTO login_ceilings (subject, in_row, last_at) VALUES ($1, 1, $2)
         ON CONFLICT (subject) DO UPDATE SET in_row = login_ceilings.in_row + 1, last_at = $2
         RETURNING in_row",
    )
    .bind(subject)
    .bind(at)
    .fetch_one(c)
    .await
}

/// A right password, or the owner's unlock: the count starts again.
pub async fn clear_in_row(c: &mut Conn, subject: &str) -> Result<()> {
    db::query("DELETE FROM login_ceilings WHERE subject = $1")
        .bind(subject)
        .execute(c)
        .await?;
    Ok(())
}

/// A new password: every client of `subject` starts afresh, and so does the count in a row.
pub async fn clear_subject(c: &mut Conn, subject: &str) -> Result<()> {
    db::query("DELETE FROM login_failures WHERE subject = $1")
        .bind(subject)
        .execute(&mut *c)
        .await?;
    clear_in_row(c, subject).await
}

/// Counts of unknown logins (subjects starting with `?`) untouched since `before`.
pub async fn delete_unknown_idle(c: &mut Conn, before: UnixTime) -> Result<u64> {
    let r = db::query("DELETE FROM login_ceilings WHERE subject LIKE '?%' AND last_at < $1")
        .bind(before)
        .execute(c)
        .await?;
    Ok(r.rows_affected())
}
