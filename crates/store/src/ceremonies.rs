//! Marks of finished sign-in ceremonies (a provider trip, a passkey
//! sign-in): the ceremony itself travels sealed in the browser, and its mark,
//! written only when it succeeds, makes sure it succeeds once.

use twostep_core::UnixTime;

use crate::db;
use crate::{Conn, Result};

/// Marks ceremony `id` done until `expires_at`; false when it was done already.
#[must_use = "a ceremony done already must be refused"]
pub async fn mark_done(c: &mut Conn, id: &str, expires_at: UnixTime) -> Result<bool> {
    let r = db::query(
        "INSERT INTO ceremonies_done (id, expires_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
    )
    .bind(id)
    .bind(expires_at)
    .execute(c)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Marks whose ceremony could no longer be presented.
pub async fn delete_expired(c: &mut Conn, now: UnixTime) -> Result<u64> {
    Ok(
        db::query("DELETE FROM ceremonies_done WHERE expires_at <= $1")
            .bind(now)
            .execute(c)
            .await?
            .rows_affected(),
    )
}
