//! `ssh git@HOST password`: a new account password from the SSH key (who is
//! asking) and a current second factor (a code or a recovery code, counted
//! like any other). Every session ends; the owner is mailed.

use twostep_core::lockout::LockState;
use twostep_core::UserId;
use twostep_store::{sessions, users};

use super::{Recovery, SshProof};
use crate::factors::check::{FactorCheck, FactorUsed};
use crate::notify::Event;
use crate::{commit, AuthError, AuthService, Ctx, Result};

/// What `password` asks the owner of an account with no password to approve.
pub const PASSWORD_REQUEST: &str = "a password for your account";

impl AuthService {
    async fn store_password_over_ssh(
        &self,
        user: &users::User,
        new_password: &str,
        how: &str,
        ctx: &Ctx,
    ) -> Result<()> {
        let now = self.now();
        let hash = self.hasher().hash(new_password).await?;
        let mut tx = self.store().begin().await?;
        users::set_password(&mut tx, &user.id, &hash).await?;
        sessions::delete_for_user(&mut tx, &user.id, None).await?;
        self.audit(
            &mut tx,
            &user.id,
            now,
            Event::PasswordChanged,
            &format!("over SSH with {how}"),
            ctx,
        )
        .await?;
        commit(tx).await?;
        self.notify(
            user,
            "Your password was changed over SSH",
            &format!(
                "Your account password was changed over SSH, with one of your SSH keys and {how}. \
                 Every session was signed out. If this was not you, your SSH key and a second proof are in \
                 someone else's hands: reset your password by email, remove that key and replace your device."
            ),
            ctx,
        )
        .await;
        Ok(())
    }
}

impl Recovery<'_> {
    /// Whether `password` can work for this account, and what the second
    /// proof is (asked before anything is typed): with a password, two-step
    /// must be on, so that a code can prove it is you.
    pub async fn password_over_ssh_proof(&self, user_id: &UserId) -> Result<SshProof> {
        let user = self.user_row(user_id).await?;
        if user.password_hash.is_none() {
            // A mailed link is its proof (`set_password_over_ssh_approved`).
            return Ok(SshProof::MailedApproval);
        }
        if user.two_step_enabled_at.is_none() {
            return Err(AuthError::Conflict(format!(
                "Two-step verification is off for {}, so there is no code to confirm it is you. \
                 Reset your password by email instead: {}",
                user.username,
                self.link("/password/forgot")
            )));
        }
        // A lock is waited out; a frozen second step is refused when the
        // code is checked (the code is this command's proof).
        if let LockState::Locked { until } = crate::factors::check::lock_state(&user, self.now()) {
            return Err(crate::factors::check::locked(until));
        }
        Ok(SshProof::Typed)
    }

    /// Sets `new_password` once `code` (from an authenticator, or a recovery
    /// code) checks out. The policy is checked before the code is spent.
    pub async fn reset_password_over_ssh(
        &self,
        user_id: &UserId,
        code: &str,
        new_password: &str,
        ctx: &Ctx,
    ) -> Result<()> {
        self.password_over_ssh_proof(user_id).await?;
        let user = self.user_row(user_id).await?;
        self.check_new_password(new_password, &user.username, &user.email)
            .await?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let used = match self.check_factor(&mut tx, &user.id, code, now, ctx).await? {
            FactorCheck::Passed(used) => used,
            FactorCheck::Refused(r) => return self.refuse(tx, &user, r, ctx).await,
        };
        commit(tx).await?;
        if let FactorUsed::RecoveryCode { remaining } = used {
            self.recovery_code_used_mail(
                &user,
                "A recovery code was used to set a new password over SSH.",
                remaining,
                ctx,
            )
            .await;
        }
        // The code first: a wrong one costs no Argon2 hash.
        self.store_password_over_ssh(&user, new_password, "a two-step code", ctx)
            .await
    }

    /// Whether the password policy takes `new_password` for this account
    /// (asked before anyone is sent to approve anything).
    pub async fn new_password_acceptable(
        &self,
        user_id: &UserId,
        new_password: &str,
    ) -> Result<()> {
        let user = self.user_row(user_id).await?;
        self.check_new_password(new_password, &user.username, &user.email)
            .await
    }

    /// For an account with no password (made through a sign-in provider):
    /// its first password, from the SSH key and the owner's approval of the
    /// mailed link (`mail_ssh_approval`).
    pub async fn set_password_over_ssh_approved(
        &self,
        user_id: &UserId,
        handle: &str,
        new_password: &str,
        ctx: &Ctx,
    ) -> Result<()> {
        let user = self.user_row(user_id).await?;
        self.check_new_password(new_password, &user.username, &user.email)
            .await?;
        let mut tx = self.store().begin().await?;
        if !self
            .use_ssh_approval(&mut tx, handle, &user.id, PASSWORD_REQUEST)
            .await?
        {
            return Err(AuthError::LinkInvalid);
        }
        commit(tx).await?;
        self.store_password_over_ssh(&user, new_password, "the approval of a mailed link", ctx)
            .await
    }
}
