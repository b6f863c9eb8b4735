use twostep_core::{UnixTime, UserId};

use crate::db;
use crate::{Conn, Result};

row_struct! {
    #[derive(Debug, Clone)]
    pub struct SshKey {
        pub id: String,
        pub user_id: UserId,
        pub title: String,
        pub algorithm: String,
        pub public_key: String,
        pub fingerprint: String,
        pub bits: i64,
        pub created_at: UnixTime,
        pub last_used_at: Option<UnixTime>,
        /// `verify-required`, `no-touch-required`, comma-separated (FIDO keys).
        pub options: String,
        /// The last signature counter the FIDO key reported.
        pub sk_counter: Option<i64>,
    }
}

/// `StoreError::Conflict` when the key is registered already (to anyone).
pub async fn insert(c: &mut Conn, k: &SshKey) -> Result<()> {
    db::query(
        "INSERT INTO ssh_keys (id, user_id, title, algorithm, public_key, fingerprint, bits, created_at, options)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&k.id)
    .bind(&k.user_id)
    .bind(&k.title)
    .bind(&k.algorithm)
    .bind(&k.public_key)
    .bind(&k.fingerprint)
    .bind(k.bits)
    .bind(k.created_at)
    .bind(&k.options)
    .execute(c)
    .await?;
    Ok(())
}

macro_rules! select_key {
    ($rest:literal) => {
        concat!(
            "SELECT id, user_id, title, algorithm, public_key, fingerprint, bits, created_at, last_used_at, options, sk_counter FROM ssh_keys WHERE ",
            $rest
        )
    };
}

pub async fn for_user(c: &mut Conn, user_id: &UserId) -> Result<Vec<SshKey>> {
    db::query_as(select_key!("user_id = $1 ORDER BY created_at, id"))
        .bind(user_id)
        .fetch_all(c)
        .await
}

pub async fn by_fingerprint(c: &mut Conn, fingerprint: &str) -> Result<Option<SshKey>> {
    db::query_as(select_key!("fingerprint = $1"))
        .bind(fingerprint)
        .fetch_optional(c)
        .await
}

pub async fn count_for_user(c: &mut Conn, user_id: &UserId) -> Result<i64> {
    db::query_scalar("SELECT COUNT(*) FROM ssh_keys WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(c)
        .await
}

pub async fn delete(c: &mut Conn, user_id: &UserId, id: &str) -> Result<Option<SshKey>> {
    db::query_as(
        "DELETE FROM ssh_keys WHERE user_id = $1 AND id = $2
         RETURNING id, user_id, title, algorithm, public_key, fingerprint, bits, created_at, last_used_at, options, sk_counter",
    )
    .bind(user_id)
    .bind(id)
    .fetch_optional(c)
    .await
}

pub async fn touch(c: &mut Conn, id: &str, now: UnixTime) -> Result<()> {
    db::query("UPDATE ssh_keys SET last_used_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(c)
        .await?;
    Ok(())
}

/// Records a FIDO key's signature counter; returns the one stored before.
/// The stored value only grows, so a counter that went back stays visible.
pub async fn record_counter(c: &mut Conn, id: &str, counter: i64) -> Result<Option<i64>> {
    let before: Option<Option<i64>> =
        db::query_scalar("SELECT sk_counter FROM ssh_keys WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *c)
            .await?;
    db::query(
        "UPDATE ssh_keys SET sk_counter = $1 WHERE id = $2 AND (sk_counter IS NULL OR sk_counter < $1)",
    )
    .bind(counter)
    .bind(id)
    .execute(c)
    .await?;
    Ok(before.flatten())
}

pub async fn by_id(c: &mut Conn, id: &str) -> Result<Option<SshKey>> {
    db::query_as(select_key!("id = $1"))
        .bind(id)
        .fetch_optional(c)
        .await
}
