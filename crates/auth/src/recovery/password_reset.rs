//! A forgotten password: a link mailed to the account's address (one hour,
//! once), the new password, and every credential ended with it.

use twostep_core::validate;
use twostep_store::users;

use super::Recovery;
use crate::links::mailed::{self as links, Holder, Purpose};
use crate::notify::Event;
use crate::{commit, Account, AuthError, AuthService, Ctx, Result};

const RESET_TTL: i64 = 3600;

impl AuthService {
    async fn send_reset_link(&self, email: &str, ctx: &Ctx) -> Result<()> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let Some(user) = users::by_email(&mut tx, email).await? else {
            return Ok(());
        };
        let link = self
            .new_link(
                &mut tx,
                &user.id,
                Purpose::ResetPassword,
                &user.email,
                now,
                RESET_TTL,
            )
            .await?;
        self.audit(
            &mut tx,
            &user.id,
            now,
            Event::PasswordResetRequested,
            "",
            ctx,
        )
        .await?;
        commit(tx).await?;
        self.send_link_mail(
            &user.email,
            &user.username,
            "Reset your password",
            &format!(
                "Someone (hopefully you) asked to reset your password. Choose a new one here \
                 (the link works once, for one hour):\n\n{link}\n\n\
                 Two-step verification, if it is on, stays on: you will still need your code to sign in.\n\
                 If you did not ask, ignore this mail; your password has not changed."
            ),
        )
        .await
    }
}

impl Recovery<'_> {
    /// Answers at once and alike whether or not an account uses `email`
    /// and whether or not the mail goes out: the lookup, the link and the
    /// mail happen afterwards, so neither the answer nor its time tells who
    /// has an account.
    pub async fn request_password_reset(&self, email: &str, ctx: &Ctx) -> Result<()> {
        if email.trim().is_empty() || email.len() > validate::MAX_EMAIL {
            return Err(AuthError::invalid(
                "invalid_email",
                "email",
                "Enter a valid email address.",
            ));
        }
        let this = crate::AuthService::clone(self);
        let (email, ctx) = (email.trim().to_string(), ctx.clone());
        tokio::spawn(async move {
            if let Err(e) = this.send_reset_link(&email, &ctx).await {
                tracing::warn!(error = %e, "password reset mail not sent");
            }
        });
        Ok(())
    }

    /// Checks a reset link without using it (to show the form).
    pub async fn check_reset_link(&self, raw_token: &str) -> Result<Account> {
        let now = self.now();
        let mut c = self.store().conn().await?;
        let t = links::peek(
            &mut c,
            raw_token,
            Purpose::ResetPassword,
            Holder::Anyone,
            now,
        )
        .await?;
        users::by_id(&mut c, &t.user_id)
            .await?
            .map(Account::from)
            .ok_or(AuthError::LinkInvalid)
    }

    /// Sets the new password and ends every credential (sessions, app
    /// passwords, authorised applications, links in flight). Returns the
    /// user and a token for reviewing what was ended and the SSH keys left
    /// (`credentials_after_reset`): whoever had the account before may have
    /// added some.
    pub async fn reset_password(
        &self,
        raw_token: &str,
        new_password: &str,
        ctx: &Ctx,
    ) -> Result<(Account, String)> {
        let user = self.check_reset_link(raw_token).await?;
        self.check_new_password(new_password, &user.username, &user.email)
            .await?;
        let hash = self.hasher().hash(new_password).await?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let t = links::redeem(
            &mut tx,
            raw_token,
            Purpose::ResetPassword,
            Holder::Anyone,
            now,
        )
        .await?;
        if t.user_id != user.id {
            return Err(AuthError::LinkInvalid);
        }
        users::set_password(&mut tx, &user.id, &hash).await?;
        // The wrong passwords were for the old one: every client starts afresh.
        let row = self.user_in(&mut tx, &user.id).await?;
        self.clear_login_counts(&mut tx, &row, true).await?;
        let ended = crate::credentials::revoke::held(&mut tx, &row).await?;
        crate::credentials::revoke::end_credentials(&mut tx, &row, now, None).await?;
        self.audit(
            &mut tx,
            &user.id,
            now,
            Event::PasswordChanged,
            "reset by email link",
            ctx,
        )
        .await?;
        let review = links::issue(
            &mut tx,
            &user.id,
            Purpose::ReviewCredentials,
            &ended.join("\n"),
            now,
            crate::recovery::reset_review::REVIEW_TTL,
        )
        .await?;
        let listing = self.credentials_listing(&mut tx, &user.id, &ended).await?;
        commit(tx).await?;
        self.notify(
            &user,
            "Your password was changed",
            &format!(
                "Your password was reset through the emailed link: every session was signed out, and \
                 every app password and authorised application stopped working.\n\n{listing}"
            ),
            ctx,
        )
        .await;
        Ok((user, review))
    }
}
