use twostep_core::{UnixTime, UserId};

use crate::db;
use crate::users::{user_columns, User};
use crate::{Conn, Result};

text_enum!(
    /// How far a sign-in got.
    Stage {
        /// Password accepted, second step owed (10 minutes).
        SecondStep => "second_step",
        /// Signed in.
        Full => "full",
    }
);

row_struct! {
    #[derive(Debug, Clone)]
    pub struct Session {
        pub token_hash: String,
        pub user_id: UserId,
        pub stage: Stage,
        pub created_at: UnixTime,
        pub expires_at: UnixTime,
        pub sudo_until: Option<UnixTime>,
        /// Last use, written at most once a minute (`touch`).
        pub last_seen_at: UnixTime,
        /// The security key or passkey (its id) the sign-in was completed with.
        pub signed_in_key: Option<String>,
    }
}

/// Stores `s`, made from the client at `ip` with `user_agent`.
pub async fn insert(c: &mut Conn, s: &Session, ip: &str, user_agent: &str) -> Result<()> {
    db::query(
        "INSERT INTO sessions (token_hash, user_id, stage, created_at, expires_at, sudo_until, last_seen_at, ip, user_agent, signed_in_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&s.token_hash)
    .bind(&s.user_id)
    .bind(s.stage.as_str())
    .bind(s.created_at)
    .bind(s.expires_at)
    .bind(s.sudo_until)
    .bind(s.last_seen_at)
    .bind(ip)
    .bind(user_agent)
    .bind(s.signed_in_key.as_deref())
    .execute(c)
    .await?;
    Ok(())
}

row_struct! {
    /// A signed-in session as its owner's sessions page lists it.
    #[derive(Debug, Clone)]
    pub struct Listed {
        pub token_hash: String,
        pub created_at: UnixTime,
        pub last_seen_at: UnixTime,
        pub ip: String,
        pub user_agent: String,
    }
}

/// The user's live signed-in sessions (not half-signed-in ones), newest use first.
pub async fn list_for_user(
    c: &mut Conn,
    user_id: &UserId,
    now: UnixTime,
    idle_since: UnixTime,
) -> Result<Vec<Listed>> {
    db::query_as(
        "SELECT token_hash, created_at, last_seen_at, ip, user_agent FROM sessions
         WHERE user_id = $1 AND stage = 'full' AND expires_at > $2 AND last_seen_at > $3
         ORDER BY last_seen_at DESC, created_at DESC",
    )
    .bind(user_id)
    .bind(now)
    .bind(idle_since)
    .fetch_all(c)
    .await
}

/// Ends one session of the user; false when it is not theirs (or gone).
pub async fn delete_of_user(c: &mut Conn, user_id: &UserId, token_hash: &str) -> Result<bool> {
    let r = db::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash = $2")
        .bind(user_id)
        .bind(token_hash)
        .execute(c)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// A live session: not expired at `now`, and used since `idle_since`.
pub async fn get(
    c: &mut Conn,
    token_hash: &str,
    now: UnixTime,
    idle_since: UnixTime,
) -> Result<Option<Session>> {
    db::query_as(
        "SELECT token_hash, user_id, stage, created_at, expires_at, sudo_until, last_seen_at, signed_in_key
         FROM sessions WHERE token_hash = $1 AND expires_at > $2 AND last_seen_at > $3",
    )
    .bind(token_hash)
    .bind(now)
    .bind(idle_since)
    .fetch_optional(c)
    .await
}

/// A live session and its user, in one indexed lookup (every authenticated
/// request makes it).
pub async fn get_with_user(
    c: &mut Conn,
    token_hash: &str,
    now: UnixTime,
    idle_since: UnixTime,
) -> Result<Option<(Session, User)>> {
    let row: Option<SessionRow> = db::query_as(concat!(
        "SELECT ",
        user_columns!(),
        ", s_token_hash, s_stage, s_created_at, s_expires_at, s_sudo_until, s_last_seen_at, s_signed_in_key
         FROM users JOIN (SELECT token_hash AS s_token_hash, user_id AS s_user_id, stage AS s_stage,
             created_at AS s_created_at, expires_at AS s_expires_at, sudo_until AS s_sudo_until,
             last_seen_at AS s_last_seen_at, signed_in_key AS s_signed_in_key
           FROM sessions WHERE token_hash = $1 AND expires_at > $2 AND last_seen_at > $3) s
         ON users.id = s.s_user_id"
    ))
    .bind(token_hash)
    .bind(now)
    .bind(idle_since)
    .fetch_optional(c)
    .await?;
    Ok(row.map(|r| {
        let session = Session {
            token_hash: r.s_token_hash,
            user_id: r.user.id.clone(),
            stage: r.s_stage,
            created_at: r.s_created_at,
            expires_at: r.s_expires_at,
            sudo_until: r.s_sudo_until,
            last_seen_at: r.s_last_seen_at,
            signed_in_key: r.s_signed_in_key,
        };
        (session, r.user)
    }))
}

row_struct! {
    struct SessionRow {
        user: User,
        s_token_hash: String,
        s_stage: Stage,
        s_created_at: UnixTime,
        s_expires_at: UnixTime,
        s_sudo_until: Option<UnixTime>,
        s_last_seen_at: UnixTime,
        s_signed_in_key: Option<String>,
    }
}

/// The session's sign-in (or a later confirmation) used this security key or passkey.
pub async fn set_signed_in_key(c: &mut Conn, token_hash: &str, key_id: &str) -> Result<()> {
    db::query("UPDATE sessions SET signed_in_key = $1 WHERE token_hash = $2")
        .bind(key_id)
        .bind(token_hash)
        .execute(c)
        .await?;
    Ok(())
}

/// Records a use of the session.
pub async fn touch(c: &mut Conn, token_hash: &str, now: UnixTime) -> Result<()> {
    db::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
        .bind(now)
        .bind(token_hash)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn delete(c: &mut Conn, token_hash: &str) -> Result<()> {
    db::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(c)
        .await?;
    Ok(())
}

/// Signs the user out everywhere except, optionally, one session.
pub async fn delete_for_user(c: &mut Conn, user_id: &UserId, keep: Option<&str>) -> Result<u64> {
    let r = db::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
        .bind(user_id)
        .bind(keep.unwrap_or(""))
        .execute(c)
        .await?;
    Ok(r.rows_affected())
}

/// Sessions past their limit or idle since before `idle_since`.
pub async fn delete_expired(c: &mut Conn, now: UnixTime, idle_since: UnixTime) -> Result<u64> {
    let r = db::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2")
        .bind(now)
        .bind(idle_since)
        .execute(c)
        .await?;
    Ok(r.rows_affected())
}

/// A fresh, authenticated second factor: security settings may change until `until`.
pub async fn set_sudo(c: &mut Conn, token_hash: &str, until: UnixTime) -> Result<()> {
    db::query("UPDATE sessions SET sudo_until = $1 WHERE token_hash = $2")
        .bind(until)
        .bind(token_hash)
        .execute(c)
        .await?;
    Ok(())
}

/// Ends the session's sudo window (a device replaced: confirm again).
pub async fn end_sudo(c: &mut Conn, token_hash: &str) -> Result<()> {
    db::query("UPDATE sessions SET sudo_until = NULL WHERE token_hash = $1")
        .bind(token_hash)
        .execute(c)
        .await?;
    Ok(())
}

/// Keeps freshly made recovery codes (sealed) for download and print until `until`.
pub async fn set_revealed(
    c: &mut Conn,
    token_hash: &str,
    sealed: &[u8],
    until: UnixTime,
) -> Result<()> {
    db::query("UPDATE sessions SET revealed_codes = $1, revealed_until = $2 WHERE token_hash = $3")
        .bind(sealed)
        .bind(until)
        .bind(token_hash)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn revealed(c: &mut Conn, token_hash: &str, now: UnixTime) -> Result<Option<Vec<u8>>> {
    db::query_scalar(
        "SELECT revealed_codes FROM sessions
         WHERE token_hash = $1 AND revealed_until > $2 AND revealed_codes IS NOT NULL",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(c)
    .await
}
