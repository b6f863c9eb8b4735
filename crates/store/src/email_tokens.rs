//! Single-use mailed links (confirm email, reset password, turn two-step on,
//! ...). The auth service's `links` module is their only reader.

use twostep_core::{UnixTime, UserId};

use crate::db;
use crate::{Conn, Result};

text_enum!(
    /// What a mailed link does when it is followed.
    Purpose {
        ConfirmEmail => "confirm_email",
        ResetPassword => "reset_password",
        EnableTwoStep => "enable_two_step",
        UnlockSecondStep => "unlock_second_step",
        /// Reopens password sign-in from unknown clients after the ceiling.
        UnlockPasswordSignIn => "unlock_password_sign_in",
        ChangeEmail => "change_email",
        StartRecovery => "start_recovery",
        FinishRecovery => "finish_recovery",
        /// The page after a password reset (read, never used up).
        ReviewCredentials => "review_credentials",
        /// An SSH command approved in a signed-in browser.
        ApproveSsh => "ssh_confirm",
    }
);

row_struct! {
    #[derive(Debug, Clone)]
    pub struct EmailToken {
        pub token_hash: String,
        pub user_id: UserId,
        pub purpose: Purpose,
        /// What the link is about: the email address, or an authenticator id.
        pub subject: String,
        pub created_at: UnixTime,
        pub expires_at: UnixTime,
        pub used_at: Option<UnixTime>,
    }
}

pub async fn insert(c: &mut Conn, t: &EmailToken) -> Result<()> {
    db::query(
        "INSERT INTO email_tokens (token_hash, user_id, purpose, subject, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&t.token_hash)
    .bind(&t.user_id)
    .bind(t.purpose.as_str())
    .bind(&t.subject)
    .bind(t.created_at)
    .bind(t.expires_at)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn get(c: &mut Conn, token_hash: &str, purpose: Purpose) -> Result<Option<EmailToken>> {
    db::query_as(
        "SELECT token_hash, user_id, purpose, subject, created_at, expires_at, used_at
         FROM email_tokens WHERE token_hash = $1 AND purpose = $2",
    )
    .bind(token_hash)
    .bind(purpose.as_str())
    .fetch_optional(c)
    .await
}

/// Marks the link used; false if it was already used, has expired or is
/// for another purpose (a race lost).
#[must_use = "only one caller may act on a link"]
pub async fn consume(
    c: &mut Conn,
    token_hash: &str,
    purpose: Purpose,
    now: UnixTime,
) -> Result<bool> {
    let r = db::query(
        "UPDATE email_tokens SET used_at = $1
         WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(token_hash)
    .bind(purpose.as_str())
    .execute(c)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Voids a user's unused links of one purpose (a newer link replaces them).
pub async fn void_unused(
    c: &mut Conn,
    user_id: &UserId,
    purpose: Purpose,
    now: UnixTime,
) -> Result<()> {
    db::query(
        "UPDATE email_tokens SET used_at = $1
         WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL",
    )
    .bind(now)
    .bind(user_id)
    .bind(purpose.as_str())
    .execute(c)
    .await?;
    Ok(())
}

/// When the user's newest link of one purpose was made.
pub async fn newest(c: &mut Conn, user_id: &UserId, purpose: Purpose) -> Result<Option<UnixTime>> {
    db::query_scalar("SELECT MAX(created_at) FROM email_tokens WHERE user_id = $1 AND purpose = $2")
        .bind(user_id)
        .bind(purpose.as_str())
        .fetch_one(c)
        .await
}

/// When the user's newest link of one purpose and subject was made.
pub async fn newest_about(
    c: &mut Conn,
    user_id: &UserId,
    purpose: Purpose,
    subject: &str,
) -> Result<Option<UnixTime>> {
    db::query_scalar(
        "SELECT MAX(created_at) FROM email_tokens WHERE user_id = $1 AND purpose = $2 AND subject = $3",
    )
    .bind(user_id)
    .bind(purpose.as_str())
    .bind(subject)
    .fetch_one(c)
    .await
}

/// Links that expired before `before` (used or not).
pub async fn delete_expired(c: &mut Conn, before: UnixTime) -> Result<u64> {
    let r = db::query("DELETE FROM email_tokens WHERE expires_at <= $1")
        .bind(before)
        .execute(c)
        .await?;
    Ok(r.rows_affected())
}

/// Removes one token; whether it was there (so a use happens once).
pub async fn delete(c: &mut Conn, token_hash: &str) -> Result<bool> {
    let r = db::query("DELETE FROM email_tokens WHERE token_hash = $1")
        .bind(token_hash)
        .execute(c)
        .await?;
    Ok(r.rows_affected() == 1)
}
