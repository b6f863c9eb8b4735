//! The administrators' audit log and the second approvals one admin's reset
//! of another admin waits for.

use twostep_core::{UnixTime, UserId};

use crate::db;
use crate::{Conn, Result};

row_struct! {
    /// One administrator action: who, whom, what, why, when, from where.
    #[derive(Debug, Clone)]
    pub struct AuditEntry {
        pub seq: i64,
        pub at: UnixTime,
        /// `None`: the server's command line.
        pub actor_id: Option<UserId>,
        pub actor: String,
        pub target_id: Option<UserId>,
        pub target: String,
        pub action: String,
        pub reason: String,
        pub channel: String,
        pub ip: String,
    }
}

pub struct NewAuditEntry<'a> {
    pub at: UnixTime,
    pub actor_id: Option<&'a UserId>,
    pub actor: &'a str,
    pub target_id: Option<&'a UserId>,
    pub target: &'a str,
    pub action: &'a str,
    pub reason: &'a str,
    pub channel: &'a str,
    pub ip: &'a str,
}

pub async fn append(c: &mut Conn, e: NewAuditEntry<'_>) -> Result<()> {
    db::query(
        "INSERT INTO admin_audit (at, actor_id, actor, target_id, target, action, reason, channel, ip)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(e.at)
    .bind(e.actor_id)
    .bind(e.actor)
    .bind(e.target_id)
    .bind(e.target)
    .bind(e.action)
    .bind(e.reason)
    .bind(e.channel)
    .bind(e.ip)
    .execute(c)
    .await?;
    Ok(())
}

/// Newest first, entries older than `before` (a `seq`), `limit` at most.
pub async fn audit_page(c: &mut Conn, before: Option<i64>, limit: i64) -> Result<Vec<AuditEntry>> {
    db::query_as(
        "SELECT seq, at, actor_id, actor, target_id, target, action, reason, channel, ip
         FROM admin_audit WHERE seq < $1 ORDER BY seq DESC LIMIT $2",
    )
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(c)
    .await
}

text_enum!(
    /// What an approval is asked for.
    ApprovalAction {
        ResetTwoStep => "reset_two_step",
    }
);

text_enum!(
    ApprovalOutcome {
        Approved => "approved",
        Cancelled => "cancelled",
        Expired => "expired",
    }
);

row_struct! {
    #[derive(Debug, Clone)]
    pub struct Approval {
        pub id: String,
        pub action: ApprovalAction,
        pub target_id: UserId,
        pub requested_by: UserId,
        pub reason: String,
        pub created_at: UnixTime,
        pub expires_at: UnixTime,
    }
}

const APPROVAL: &str = "id, action, target_id, requested_by, reason, created_at, expires_at";

/// A new open request; a second open one for the same account and action is a conflict.
pub async fn request(c: &mut Conn, a: &Approval) -> Result<()> {
    db::query(
        "INSERT INTO admin_approvals (id, action, target_id, requested_by, reason, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&a.id)
    .bind(a.action.as_str())
    .bind(&a.target_id)
    .bind(&a.requested_by)
    .bind(&a.reason)
    .bind(a.created_at)
    .bind(a.expires_at)
    .execute(c)
    .await?;
    Ok(())
}

/// Open requests past their time are closed as expired.
pub async fn expire(c: &mut Conn, now: UnixTime) -> Result<u64> {
    let r = db::query(
        "UPDATE admin_approvals SET decided_at = $1, outcome = 'expired'
         WHERE decided_at IS NULL AND expires_at <= $1",
    )
    .bind(now)
    .execute(c)
    .await?;
    Ok(r.rows_affected())
}

/// Requests still waiting, oldest first.
pub async fn open(c: &mut Conn, now: UnixTime) -> Result<Vec<Approval>> {
    db::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {APPROVAL} FROM admin_approvals WHERE decided_at IS NULL AND expires_at > $1
         ORDER BY created_at, id"
    )))
    .bind(now)
    .fetch_all(c)
    .await
}

pub async fn open_by_id(c: &mut Conn, id: &str, now: UnixTime) -> Result<Option<Approval>> {
    db::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {APPROVAL} FROM admin_approvals WHERE id = $1 AND decided_at IS NULL AND expires_at > $2"
    )))
    .bind(id)
    .bind(now)
    .fetch_optional(c)
    .await
}

/// Closes an open request (`by` is `None` from the command line); false if
/// it was no longer open (another admin won).
pub async fn decide(
    c: &mut Conn,
    id: &str,
    by: Option<&UserId>,
    outcome: ApprovalOutcome,
    now: UnixTime,
) -> Result<bool> {
    let r = db::query(
        "UPDATE admin_approvals SET decided_by = $1, decided_at = $2, outcome = $3
         WHERE id = $4 AND decided_at IS NULL",
    )
    .bind(by)
    .bind(now)
    .bind(outcome.as_str())
    .bind(id)
    .execute(c)
    .await?;
    Ok(r.rows_affected() == 1)
}
