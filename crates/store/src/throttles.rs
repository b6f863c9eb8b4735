//! Counters per key and time window, taken atomically: one statement both
//! checks and counts, so parallel requests on any number of nodes never
//! pass a cap together.

use twostep_core::UnixTime;

use crate::db;
use crate::{Conn, Result};

/// Counts one for `key` in the window starting at `window_start`; false
/// (and nothing counted) when `cap` are counted already.
#[must_use = "a refused take must be refused"]
pub async fn take(c: &mut Conn, key: &str, window_start: UnixTime, cap: i64) -> Result<bool> {
    let n: Option<i64> = db::query_scalar(
        "INSERT INTO throttles (key, window_start, n) VALUES ($1, $2, 1)
         ON CONFLICT (key, window_start) DO UPDATE SET n = throttles.n + 1
         WHERE throttles.n < $3
         RETURNING n",
    )
    .bind(key)
    .bind(window_start)
    .bind(cap)
    .fetch_optional(c)
    .await?;
    Ok(n.is_some())
}

/// Windows that started before `before`.
pub async fn delete_before(c: &mut Conn, before: UnixTime) -> Result<u64> {
    Ok(db::query("DELETE FROM throttles WHERE window_start < $1")
        .bind(before)
        .execute(c)
        .await?
        .rows_affected())
}
