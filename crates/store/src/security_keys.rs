//! Security keys: the serialized credential (public key and counter) per key,
//! and the short-lived state of a WebAuthn ceremony in progress.

use twostep_core::{UnixTime, UserId};

use crate::db;
use crate::{Conn, Result};

row_struct! {
    #[derive(Debug, Clone)]
    pub struct SecurityKey {
        pub id: String,
        pub user_id: UserId,
        pub name: String,
        pub cred_id: String,
        pub credential: String,
        pub created_at: UnixTime,
        pub last_used_at: Option<UnixTime>,
        pub kind: KeyKind,
        /// The authenticator's model (AAGUID, `xxxxxxxx-xxxx-…`); '' when unknown.
        pub aaguid: String,
    }
}

text_enum!(
    /// What a registered WebAuthn credential is for.
    KeyKind {
        /// A second factor after the password.
        SecurityKey => "security_key",
        /// A discoverable credential that signs in alone.
        Passkey => "passkey",
    }
);

pub async fn insert(c: &mut Conn, k: &SecurityKey) -> Result<()> {
    db::query(
        "INSERT INTO security_keys (id, user_id, name, cred_id, credential, created_at, kind, aaguid)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&k.id)
    .bind(&k.user_id)
    .bind(&k.name)
    .bind(&k.cred_id)
    .bind(&k.credential)
    .bind(k.created_at)
    .bind(k.kind)
    .bind(&k.aaguid)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn for_user(c: &mut Conn, user_id: &UserId) -> Result<Vec<SecurityKey>> {
    db::query_as(
        "SELECT id, user_id, name, cred_id, credential, created_at, last_used_at, kind, aaguid
         FROM security_keys WHERE user_id = $1 ORDER BY created_at, id",
    )
    .bind(user_id)
    .fetch_all(c)
    .await
}

/// The passkey with this credential id (base64url), whoever owns it.
pub async fn passkey_by_cred_id(c: &mut Conn, cred_id: &str) -> Result<Option<SecurityKey>> {
    db::query_as(
        "SELECT id, user_id, name, cred_id, credential, created_at, last_used_at, kind, aaguid
         FROM security_keys WHERE cred_id = $1 AND kind = $2",
    )
    .bind(cred_id)
    .bind(KeyKind::Passkey)
    .fetch_optional(c)
    .await
}

pub async fn used(c: &mut Conn, id: &str, credential: &str, now: UnixTime) -> Result<()> {
    db::query("UPDATE security_keys SET credential = $1, last_used_at = $2 WHERE id = $3")
        .bind(credential)
        .bind(now)
        .bind(id)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn delete(c: &mut Conn, user_id: &UserId, id: &str) -> Result<Option<SecurityKey>> {
    db::query_as(
        "DELETE FROM security_keys WHERE user_id = $1 AND id = $2
         RETURNING id, user_id, name, cred_id, credential, created_at, last_used_at, kind, aaguid",
    )
    .bind(user_id)
    .bind(id)
    .fetch_optional(c)
    .await
}

pub async fn delete_all(c: &mut Conn, user_id: &UserId) -> Result<()> {
    db::query("DELETE FROM security_keys WHERE user_id = $1")
        .bind(user_id)
        .execute(c)
        .await?;
    Ok(())
}

text_enum!(
    /// What a WebAuthn ceremony in progress is for.
    Ceremony {
        /// Adding a key.
        Register => "register",
        /// Signing in or confirming with a key.
        Authenticate => "authenticate",
        /// Adding a passkey.
        RegisterPasskey => "register_passkey",
    }
);

pub struct NewState<'a> {
    pub id: &'a str,
    pub user_id: &'a UserId,
    pub session_hash: &'a str,
    pub kind: Ceremony,
    pub name: &'a str,
    pub state: &'a str,
    pub expires_at: UnixTime,
}

pub async fn save_state(c: &mut Conn, s: NewState<'_>) -> Result<()> {
    db::query("DELETE FROM webauthn_states WHERE expires_at <= $1")
        .bind(s.expires_at - 600)
        .execute(&mut *c)
        .await?;
    db::query(
        "INSERT INTO webauthn_states (id, user_id, session_hash, kind, name, state, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(s.id)
    .bind(s.user_id)
    .bind(s.session_hash)
    .bind(s.kind.as_str())
    .bind(s.name)
    .bind(s.state)
    .bind(s.expires_at)
    .execute(c)
    .await?;
    Ok(())
}

/// Takes (and removes) a live ceremony state of this session: (user_id, name, state).
pub async fn take_state(
    c: &mut Conn,
    id: &str,
    session_hash: &str,
    kind: Ceremony,
    now: UnixTime,
) -> Result<Option<(UserId, String, String)>> {
    db::query_as(
        "DELETE FROM webauthn_states WHERE id = $1 AND session_hash = $2 AND kind = $3 AND expires_at > $4
         RETURNING user_id, name, state",
    )
    .bind(id)
    .bind(session_hash)
    .bind(kind.as_str())
    .bind(now)
    .fetch_optional(c)
    .await
}

/// Ceremonies that ran out of time.
pub async fn delete_expired_states(c: &mut Conn, now: UnixTime) -> Result<u64> {
    let r = db::query("DELETE FROM webauthn_states WHERE expires_at <= $1")
        .bind(now)
        .execute(c)
        .await?;
    Ok(r.rows_affected())
}
