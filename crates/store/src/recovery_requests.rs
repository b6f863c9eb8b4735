//! Self-service recovery requests: started, waited out, then completed, or
//! cancelled before.

use twostep_core::{UnixTime, UserId};

use crate::db;
use crate::{Conn, Result};

text_enum!(
    /// The strongest second proof a request carries; it sets the wait.
    Proof {
        /// The password and the mailbox only.
        None => "none",
        /// From a browser that holds the account's device cookie.
        Device => "device",
        /// Signed by one of the account's SSH keys (`ssh … recover`).
        SshKey => "ssh_key",
    }
);

text_enum!(
    Outcome {
        Cancelled => "cancelled",
        Completed => "completed",
    }
);

row_struct! {
    #[derive(Debug, Clone)]
    pub struct Request {
        pub id: String,
        pub user_id: UserId,
        pub proof: Proof,
        pub started_at: UnixTime,
        pub ready_at: UnixTime,
        pub reminded_at: UnixTime,
    }
}

const COLUMNS: &str = "id, user_id, proof, started_at, ready_at, reminded_at";

pub async fn insert(c: &mut Conn, r: &Request) -> Result<()> {
    db::query(
        "INSERT INTO recovery_requests (id, user_id, proof, started_at, ready_at, reminded_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&r.id)
    .bind(&r.user_id)
    .bind(r.proof.as_str())
    .bind(r.started_at)
    .bind(r.ready_at)
    .bind(r.reminded_at)
    .execute(&mut *c)
    .await?;
    mirror(c, &r.user_id, Some(r.ready_at)).await
}

/// The account's request that has not ended, if any.
pub async fn open_for(c: &mut Conn, user_id: &UserId) -> Result<Option<Request>> {
    db::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM recovery_requests WHERE user_id = $1 AND ended_at IS NULL"
    )))
    .bind(user_id)
    .fetch_optional(c)
    .await
}

pub async fn get(c: &mut Conn, id: &str) -> Result<Option<Request>> {
    db::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM recovery_requests WHERE id = $1 AND ended_at IS NULL"
    )))
    .bind(id)
    .fetch_optional(c)
    .await
}

/// A stronger proof arrived: an earlier end of the wait.
pub async fn strengthen(c: &mut Conn, r: &Request, proof: Proof, ready_at: UnixTime) -> Result<()> {
    db::query("UPDATE recovery_requests SET proof = $1, ready_at = $2 WHERE id = $3")
        .bind(proof.as_str())
        .bind(ready_at)
        .bind(&r.id)
        .execute(&mut *c)
        .await?;
    mirror(c, &r.user_id, Some(ready_at)).await
}

/// Ends the request; false if it had ended already (a race lost).
#[must_use = "only one caller may end a request"]
pub async fn end(
    c: &mut Conn,
    r: &Request,
    outcome: Outcome,
    how: &str,
    now: UnixTime,
) -> Result<bool> {
    let done = db::query(
        "UPDATE recovery_requests SET ended_at = $1, outcome = $2, ended_how = $3
         WHERE id = $4 AND ended_at IS NULL",
    )
    .bind(now)
    .bind(outcome.as_str())
    .bind(how)
    .bind(&r.id)
    .execute(&mut *c)
    .await?
    .rows_affected()
        == 1;
    mirror(c, &r.user_id, None).await?;
    Ok(done)
}

/// Requests started since `since` (ended or not), to throttle new ones.
pub async fn started_since(c: &mut Conn, user_id: &UserId, since: UnixTime) -> Result<i64> {
    db::query_scalar(
        "SELECT COUNT(*) FROM recovery_requests WHERE user_id = $1 AND started_at > $2",
    )
    .bind(user_id)
    .bind(since)
    .fetch_one(c)
    .await
}

/// Open requests last reminded before `before`.
pub async fn due_reminders(c: &mut Conn, before: UnixTime) -> Result<Vec<Request>> {
    db::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM recovery_requests WHERE ended_at IS NULL AND reminded_at <= $1 LIMIT 100"
    )))
    .bind(before)
    .fetch_all(c)
    .await
}

pub async fn reminded(c: &mut Conn, id: &str, now: UnixTime) -> Result<()> {
    db::query("UPDATE recovery_requests SET reminded_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(c)
        .await?;
    Ok(())
}

async fn mirror(c: &mut Conn, user_id: &UserId, ready_at: Option<UnixTime>) -> Result<()> {
    db::query("UPDATE users SET recovery_ready_at = $1 WHERE id = $2")
        .bind(ready_at)
        .bind(user_id)
        .execute(c)
        .await?;
    Ok(())
}
