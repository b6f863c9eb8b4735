//! The inventory of hardware OATH tokens imported from seed files.

use twostep_core::{UnixTime, UserId};

use crate::db;
use crate::{Conn, Result};

row_struct! {
    #[derive(Clone)]
    pub struct Token {
        pub serial: String,
        pub manufacturer: String,
        /// Sealed by the auth service ("token:" + serial as associated data).
        pub secret_enc: Vec<u8>,
        pub hash: String,
        pub digits: i64,
        pub period: i64,
        pub imported_at: UnixTime,
        pub assigned_to: Option<UserId>,
        pub assigned_at: Option<UnixTime>,
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("serial", &self.serial)
            .field("assigned_to", &self.assigned_to)
            .finish_non_exhaustive()
    }
}

const COLUMNS: &str =
    "serial, manufacturer, secret_enc, hash, digits, period, imported_at, assigned_to, assigned_at";

/// False when the serial is in the inventory already (the row is left as it is).
pub async fn insert(c: &mut Conn, t: &Token) -> Result<bool> {
    let r = db::query(
        "INSERT INTO hardware_tokens (serial, manufacturer, secret_enc, hash, digits, period, imported_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (serial) DO NOTHING",
    )
    .bind(&t.serial)
    .bind(&t.manufacturer)
    .bind(&t.secret_enc)
    .bind(&t.hash)
    .bind(t.digits)
    .bind(t.period)
    .bind(t.imported_at)
    .execute(c)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn by_serial(c: &mut Conn, serial: &str) -> Result<Option<Token>> {
    db::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM hardware_tokens WHERE serial = $1"
    )))
    .bind(serial)
    .fetch_optional(c)
    .await
}

/// Marks an unassigned token as the user's; false if someone got it first.
pub async fn assign(
    c: &mut Conn,
    serial: &str,
    user_id: &UserId,
    authenticator_id: &str,
    now: UnixTime,
) -> Result<bool> {
    let r = db::query(
        "UPDATE hardware_tokens SET assigned_to = $1, assigned_at = $2, authenticator_id = $3
         WHERE serial = $4 AND assigned_to IS NULL",
    )
    .bind(user_id)
    .bind(now)
    .bind(authenticator_id)
    .bind(serial)
    .execute(c)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// (all, unassigned) tokens in the inventory.
pub async fn counts(c: &mut Conn) -> Result<(i64, i64)> {
    db::query_as(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN assigned_to IS NULL THEN 1 ELSE 0 END), 0) FROM hardware_tokens",
    )
    .fetch_one(c)
    .await
}
