//! Which master key wrote this database (a keyed hash, never the key).

use crate::db;
use crate::{Conn, Result};

/// Records `value` under `name` if none is there yet; whether the stored one
/// is `value`.
pub async fn agree(c: &mut Conn, name: &str, value: &str) -> Result<bool> {
    db::query("INSERT INTO key_checks (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .bind(value)
        .execute(&mut *c)
        .await?;
    let stored: String = db::query_scalar("SELECT value FROM key_checks WHERE name = $1")
        .bind(name)
        .fetch_one(&mut *c)
        .await?;
    Ok(stored == value)
}
