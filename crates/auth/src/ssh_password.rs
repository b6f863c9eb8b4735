//! `ssh git@HOST password`: a new account password from the SSH key (who is
//! asking) and a current second factor (a code or a recovery code, counted
//! like any other). Every session ends; the owner is mailed.

use twostep_core::UserId;
use twostep_store::{sessions, users};

use crate::accounts::password_policy;
use crate::factor::{FactorCheck, FactorUsed};
use crate::notify::Event;
use crate::{commit, AuthError, AuthService, Ctx, Result};

impl AuthService {
    /// Whether `password` can work for this account (asked before anything
    /// is typed): two-step must be on, so that a code can prove it is you.
    pub async fn password_over_ssh_possible(&self, user_id: &UserId) -> Result<()> {
        let user = self.user_row(user_id).await?;
        if user.two_step_enabled_at.is_none() {
            return Err(AuthError::Conflict(format!(
                "Two-step verification is off for {}, so there is no code to confirm it is you. \
                 Reset your password by email instead: {}",
                user.username,
                self.link("/password/forgot")
            )));
        }
        if user.second_step_frozen_at.is_none() {
            if let Some(locked) = Self::lock_refusal(&user, self.now()) {
                return Err(locked);
            }
        }
        Ok(())
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
        self.password_over_ssh_possible(user_id).await?;
        let user = self.user_row(user_id).await?;
        password_policy(new_password, &user.username, &user.email)?;
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
        let hash = self.hasher().hash(new_password).await?;
        let mut tx = self.store().begin().await?;
        users::set_password(&mut tx, &user.id, &hash).await?;
        sessions::delete_for_user(&mut tx, &user.id, None).await?;
        self.audit(
            &mut tx,
            &user.id,
            now,
            Event::PasswordChanged,
            "over SSH with a second factor",
            ctx,
        )
        .await?;
        commit(tx).await?;
        self.notify(
            &user,
            "Your password was changed over SSH",
            "Your account password was changed over SSH, with one of your SSH keys and a two-step code. \
             Every session was signed out. If this was not you, your SSH key and a second factor are in \
             someone else's hands: reset your password by email, remove that key and replace your device.",
            ctx,
        )
        .await;
        Ok(())
    }
}
