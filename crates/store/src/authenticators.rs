//! Authenticator apps (TOTP). The secret is stored sealed by the auth service.

use twostep_core::{UnixTime, UserId};

use crate::db;
use crate::{Conn, Result};

text_enum!(
    /// Where an authenticator is in its life.
    Status {
        /// Created at setup, before a code was checked.
        Pending => "pending",
        /// A code was checked; waiting for the mailed confirmation link.
        Verified => "verified",
        /// In use for sign-in.
        Active => "active",
    }
);

text_enum!(
    /// What finishing a setup does.
    Purpose {
        /// The first authenticator: two-step turns on after the mailed link.
        Enable => "enable",
        /// A new device: every other authenticator is removed.
        Replace => "replace",
        /// One more authenticator next to the others.
        Add => "add",
    }
);

row_struct! {
    #[derive(Debug, Clone)]
    pub struct Authenticator {
        pub id: String,
        pub user_id: UserId,
        pub name: String,
        pub secret_enc: Vec<u8>,
        pub status: Status,
        pub last_step: Option<i64>,
        pub created_at: UnixTime,
        pub activated_at: Option<UnixTime>,
        pub last_used_at: Option<UnixTime>,
        pub purpose: Purpose,
        /// The device's lead over the server, in steps.
        pub drift: i64,
        /// A near-miss step waiting for the device's next code, and since when.
        pub resync_step: Option<i64>,
        pub resync_at: Option<UnixTime>,
        /// How the device makes codes: `sha1`/`sha256`/`sha512`, 6 or 8 digits, 30 or 60 s.
        pub hash: String,
        pub digits: i64,
        pub period: i64,
    }
}

impl Authenticator {
    /// An app's settings (SHA-1, 6 digits, 30 s), for rows made at setup.
    pub const APP_HASH: &'static str = "sha1";
}

pub async fn insert(c: &mut Conn, a: &Authenticator) -> Result<()> {
    db::query(
        "INSERT INTO authenticators (id, user_id, name, secret_enc, status, last_step, created_at, purpose, drift, hash, digits, period, activated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(&a.id)
    .bind(&a.user_id)
    .bind(&a.name)
    .bind(&a.secret_enc)
    .bind(a.status.as_str())
    .bind(a.last_step)
    .bind(a.created_at)
    .bind(a.purpose.as_str())
    .bind(a.drift)
    .bind(&a.hash)
    .bind(a.digits)
    .bind(a.period)
    .bind(a.activated_at)
    .execute(c)
    .await?;
    Ok(())
}

const SELECT: &str = "SELECT id, user_id, name, secret_enc, status, last_step, created_at, activated_at, last_used_at, purpose, drift, resync_step, resync_at, hash, digits, period FROM authenticators";

pub async fn for_user(c: &mut Conn, user_id: &UserId) -> Result<Vec<Authenticator>> {
    db::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE user_id = $1 ORDER BY created_at, id"
    )))
    .bind(user_id)
    .fetch_all(c)
    .await
}

pub async fn get(c: &mut Conn, user_id: &UserId, id: &str) -> Result<Option<Authenticator>> {
    db::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE user_id = $1 AND id = $2"
    )))
    .bind(user_id)
    .bind(id)
    .fetch_optional(c)
    .await
}

/// Records an accepted step, only if it is newer than the last one: the
/// atomic guard against replays, across requests and nodes. `drift` is the
/// new drift after a resynchronisation; any awaited next code is forgotten.
#[must_use = "false means the code was already used"]
pub async fn advance_step(
    c: &mut Conn,
    id: &str,
    step: i64,
    drift: Option<i64>,
    now: UnixTime,
) -> Result<bool> {
    let r = db::query(
        "UPDATE authenticators SET last_step = $1, drift = COALESCE($2, drift), last_used_at = $3,
         resync_step = NULL, resync_at = NULL
         WHERE id = $4 AND (last_step IS NULL OR last_step < $1)",
    )
    .bind(step)
    .bind(drift)
    .bind(now)
    .bind(id)
    .execute(c)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// A near miss: the device's next code is awaited until `now` + the resync window.
pub async fn await_next_code(c: &mut Conn, id: &str, step: i64, now: UnixTime) -> Result<()> {
    db::query("UPDATE authenticators SET resync_step = $1, resync_at = $2 WHERE id = $3")
        .bind(step)
        .bind(now)
        .bind(id)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn set_status(c: &mut Conn, id: &str, status: Status, now: UnixTime) -> Result<()> {
    let activated = (status == Status::Active).then_some(now);
    db::query("UPDATE authenticators SET status = $1, activated_at = $2 WHERE id = $3")
        .bind(status.as_str())
        .bind(activated)
        .bind(id)
        .execute(c)
        .await?;
    Ok(())
}

/// Removes authenticators that never became active (abandoned setups).
pub async fn delete_inactive(c: &mut Conn, user_id: &UserId, except: &str) -> Result<()> {
    db::query("DELETE FROM authenticators WHERE user_id = $1 AND status <> $2 AND id <> $3")
        .bind(user_id)
        .bind(Status::Active.as_str())
        .bind(except)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn delete(c: &mut Conn, user_id: &UserId, id: &str) -> Result<u64> {
    let r = db::query("DELETE FROM authenticators WHERE user_id = $1 AND id = $2")
        .bind(user_id)
        .bind(id)
        .execute(c)
        .await?;
    Ok(r.rows_affected())
}

pub async fn delete_all(c: &mut Conn, user_id: &UserId) -> Result<u64> {
    let r = db::query("DELETE FROM authenticators WHERE user_id = $1")
        .bind(user_id)
        .execute(c)
        .await?;
    Ok(r.rows_affected())
}
