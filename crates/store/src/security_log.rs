//! The user's security log: every security event, newest first.

use twostep_core::{UnixTime, UserId};

use crate::db;
use crate::{Conn, Result};

row_struct! {
    #[derive(Debug, Clone)]
    pub struct Entry {
        pub seq: i64,
        pub user_id: UserId,
        pub at: UnixTime,
        pub event: String,
        pub detail: String,
        pub channel: String,
        pub ip: String,
    }
}

pub struct NewEntry<'a> {
    pub user_id: &'a UserId,
    pub at: UnixTime,
    pub event: &'a str,
    pub detail: &'a str,
    pub channel: &'a str,
    pub ip: &'a str,
}

pub async fn append(c: &mut Conn, e: NewEntry<'_>) -> Result<()> {
    db::query(
        "INSERT INTO security_log (user_id, at, event, detail, channel, ip) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(e.user_id)
    .bind(e.at)
    .bind(e.event)
    .bind(e.detail)
    .bind(e.channel)
    .bind(e.ip)
    .execute(c)
    .await?;
    Ok(())
}

/// How many `event` entries the user's log has since `since`.
pub async fn count_since(
    c: &mut Conn,
    user_id: &UserId,
    event: &str,
    since: UnixTime,
) -> Result<i64> {
    db::query_scalar(
        "SELECT COUNT(*) FROM security_log WHERE user_id = $1 AND event = $2 AND at >= $3",
    )
    .bind(user_id)
    .bind(event)
    .bind(since)
    .fetch_one(c)
    .await
}

pub async fn recent(c: &mut Conn, user_id: &UserId, limit: i64) -> Result<Vec<Entry>> {
    db::query_as(
        "SELECT seq, user_id, at, event, detail, channel, ip FROM security_log
         WHERE user_id = $1 ORDER BY seq DESC LIMIT $2",
    )
    .bind(user_id)
    .bind(limit)
    .fetch_all(c)
    .await
}
