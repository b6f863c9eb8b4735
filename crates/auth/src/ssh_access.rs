//! What the SSH front-end asks: whose key is this, and fresh recovery codes
//! for the key's owner who also knows the account password.

use twostep_core::recovery::RecoveryCode;
use twostep_store::{failures, ssh_keys, users};

use crate::accounts::verify_password;
use crate::notify::Event;
use crate::{commit, AuthError, AuthService, Ctx, Result, User};

impl AuthService {
    /// The account a registered SSH key (by `SHA256:` fingerprint) belongs to.
    pub async fn ssh_user(&self, fingerprint: &str) -> Result<Option<User>> {
        let now = self.now();
        let mut c = self.store().conn().await?;
        let Some(key) = ssh_keys::by_fingerprint(&mut c, fingerprint).await? else {
            return Ok(None);
        };
        ssh_keys::touch(&mut c, &key.id, now).await?;
        Ok(users::by_id(&mut c, &key.user_id).await?)
    }

    /// `ssh git@HOST recovery_codes`: the SSH key proved who is asking; the
    /// account password is the second proof. Wrong passwords count toward the
    /// same lockout as wrong codes; mail and log either way.
    pub async fn recovery_codes_over_ssh(
        &self,
        user_id: &str,
        password: &str,
        ctx: &Ctx,
    ) -> Result<Vec<RecoveryCode>> {
        let user = self.user(user_id).await?;
        let help = self.link("/help/recovery");
        if user.password_hash.is_none() {
            return Err(AuthError::Forbidden(format!(
                "Your account has no password, so new recovery codes cannot be made over SSH. \
                 Use a saved recovery code or another authenticator, or see {help}"
            )));
        }
        if user.two_step_enabled_at.is_none() {
            return Err(AuthError::Conflict(format!(
                "Two-step verification is off for {}: you sign in with your password alone, and there are no recovery codes to replace.",
                user.username
            )));
        }
        let now = self.now();
        if let Some(locked) = Self::lock_refusal(&user, now) {
            return Err(locked);
        }
        let ok = verify_password(password, user.password_hash.as_deref()).await?;
        let mut tx = self.store().begin().await?;
        if !ok {
            let refusal = self
                .count_failure(
                    &mut tx,
                    &user.id,
                    now,
                    ctx,
                    "Wrong password.",
                    Event::SshPasswordFailed,
                )
                .await?;
            commit(tx).await?;
            let what = match &refusal {
                AuthError::Locked { until_utc, .. } => format!("A wrong password was entered for new recovery codes over SSH, and two-step sign-in is now locked until {until_utc} UTC."),
                _ => "A wrong password was entered when asking for new recovery codes over SSH. No codes were made.".to_string(),
            };
            self.notify(
                &user,
                "Failed request for recovery codes over SSH",
                &what,
                ctx,
            )
            .await;
            return Err(refusal);
        }
        let codes = self
            .new_recovery_codes(&mut tx, &user.id, None, now)
            .await?;
        failures::clear(&mut tx, &user.id).await?;
        self.audit(&mut tx, &user.id, now, Event::RecoveryCodesOverSsh, "", ctx)
            .await?;
        commit(tx).await?;
        self.notify(&user, "New recovery codes were generated over SSH", "New recovery codes were generated over SSH with your SSH key and password; the previous ones no longer work.", ctx).await;
        Ok(codes)
    }
}
