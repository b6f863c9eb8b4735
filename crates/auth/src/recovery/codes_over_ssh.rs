//! `ssh git@HOST recovery_codes`: fresh recovery codes for the owner of an
//! SSH key who also knows the account password (or, for an account with no
//! password, approves a mailed link). Whether the account may have them
//! (two-step on, the second step not locked) is decided again inside the
//! transaction that makes them.

use twostep_core::recovery::RecoveryCode;
use twostep_core::UserId;
use twostep_store::users::User;
use twostep_store::{failures, users, Tx};

use super::{Recovery, SshProof};
use crate::factors::recovery_codes::FreshCodes;
use crate::notify::Event;
use crate::signin::password::SSH_KEY;
use crate::{commit, AuthError, AuthService, Ctx, Result};

/// What `recovery_codes` asks the owner to approve, in the mail and the page.
pub const RECOVERY_CODES_REQUEST: &str = "new recovery codes";

/// Why an account cannot have new codes over SSH, if it cannot.
fn refusal(user: &User, now: twostep_core::UnixTime) -> Option<AuthError> {
    if user.two_step_enabled_at.is_none() {
        return Some(AuthError::Conflict(format!(
            "Two-step verification is off for {}: you sign in with your password alone, and there are no recovery codes to replace.",
            user.username
        )));
    }
    AuthService::lock_refusal(user, now)
}

impl AuthService {
    async fn ssh_codes_candidate(&self, user_id: &UserId) -> Result<User> {
        let user = self.user_row(user_id).await?;
        match refusal(&user, self.now()) {
            Some(e) => Err(e),
            None => Ok(user),
        }
    }

    async fn codes_over_ssh(
        &self,
        mut tx: Tx,
        user_id: &UserId,
        fresh: FreshCodes,
        how: &str,
        ctx: &Ctx,
    ) -> Result<Vec<RecoveryCode>> {
        let now = self.now();
        users::lock_row(&mut tx, user_id).await?;
        // Read again under the lock: two-step turned off or the second step
        // locked since the question was asked refuses here.
        let user = users::by_id(&mut tx, user_id)
            .await?
            .ok_or(AuthError::NotFound)?;
        if let Some(e) = refusal(&user, now) {
            return Err(e);
        }
        let codes = self
            .new_recovery_codes(&mut tx, &user.id, fresh, None, now)
            .await?;
        failures::clear(&mut tx, &user.id).await?;
        users::reset_factor_failures(&mut tx, &user.id).await?;
        self.audit(
            &mut tx,
            &user.id,
            now,
            Event::RecoveryCodesOverSsh,
            how,
            ctx,
        )
        .await?;
        commit(tx).await?;
        self.notify(
            &user,
            "New recovery codes were generated over SSH",
            &format!("New recovery codes were generated over SSH with your SSH key and the {how}; the previous ones no longer work."),
            ctx,
        )
        .await;
        Ok(codes)
    }
}

impl Recovery<'_> {
    /// Whether `recovery_codes` can make codes for this account, and what
    /// the second proof is (asked before anything is typed, so nobody types
    /// a password for nothing).
    pub async fn recovery_codes_over_ssh_proof(&self, user_id: &UserId) -> Result<SshProof> {
        let user = self.ssh_codes_candidate(user_id).await?;
        Ok(SshProof::of(&user))
    }

    /// The SSH key proved who is asking; the account password is the second
    /// proof. Wrong passwords are throttled for the SSH key's own budget;
    /// mail and log either way.
    pub async fn recovery_codes_over_ssh(
        &self,
        user_id: &UserId,
        password: &str,
        ctx: &Ctx,
    ) -> Result<Vec<RecoveryCode>> {
        let user = self.ssh_codes_candidate(user_id).await?;
        if let Err(refused) = self.check_password_as(&user, password, SSH_KEY, ctx).await {
            if matches!(refused, AuthError::BadCredentials) {
                self.notify(
                    &user,
                    "Failed request for recovery codes over SSH",
                    "A wrong password was entered when asking for new recovery codes over SSH. No codes were made.",
                    ctx,
                )
                .await;
            }
            return Err(refused);
        }
        // Hashed before the transaction: six Argon2 hashes hold no lock.
        let fresh = self.fresh_recovery_codes().await?;
        let tx = self.store().begin().await?;
        self.codes_over_ssh(tx, &user.id, fresh, "password", ctx)
            .await
    }

    /// The same for an account with no password: the SSH key, and the
    /// owner's approval of the mailed link (`mail_ssh_approval`).
    pub async fn recovery_codes_over_ssh_approved(
        &self,
        user_id: &UserId,
        handle: &str,
        ctx: &Ctx,
    ) -> Result<Vec<RecoveryCode>> {
        let fresh = self.fresh_recovery_codes().await?;
        let mut tx = self.store().begin().await?;
        if !self
            .use_ssh_approval(&mut tx, handle, user_id, RECOVERY_CODES_REQUEST)
            .await?
        {
            return Err(AuthError::LinkInvalid);
        }
        self.codes_over_ssh(tx, user_id, fresh, "approval of the mailed link", ctx)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_over_ssh_need_two_step_on_and_the_second_step_open() {
        let now = twostep_core::UnixTime::from_secs(1_796_083_200);
        let mut user = User {
            id: UserId::new("u1".into()),
            username: "dora".into(),
            email: "dora@example.org".into(),
            password_hash: Some("$argon2id$…".into()),
            email_confirmed_at: Some(now),
            two_step_enabled_at: None,
            second_step_locked_until: None,
            created_at: now,
            factor_failures_in_row: 0,
            second_step_frozen_at: None,
            codes_check_position: None,
            recovery_ready_at: None,
            is_admin: false,
            two_step_reset_at: None,
        };
        assert!(matches!(refusal(&user, now), Some(AuthError::Conflict(_))));
        user.two_step_enabled_at = Some(now);
        assert!(refusal(&user, now).is_none());
        user.second_step_locked_until = Some(now + 60);
        assert!(matches!(
            refusal(&user, now),
            Some(AuthError::Locked { .. })
        ));
        // Frozen as well: the lock is still waited out...
        user.second_step_frozen_at = Some(now);
        assert!(matches!(
            refusal(&user, now),
            Some(AuthError::Locked { .. })
        ));
        // ...and then the key and the password may reopen the freeze.
        assert!(refusal(&user, now + 61).is_none());
    }
}
