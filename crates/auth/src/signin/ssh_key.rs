//! What the SSH front-end asks: whose key is this, and fresh recovery codes
//! for the key's owner who also knows the account password.

use twostep_core::recovery::RecoveryCode;
use twostep_core::UserId;
use twostep_store::{failures, ssh_keys, users};

use super::SignIn;
use crate::notify::Event;
use crate::signin::password::SSH_KEY;
use crate::{commit, Account, AuthError, AuthService, Ctx, Result};
use twostep_store::users::User;

/// What `recovery_codes` asks the owner to approve, in the mail and the page.
pub const RECOVERY_CODES_REQUEST: &str = "new recovery codes";

impl AuthService {
    /// The owner of a key that just signed someone in; the key's last use
    /// is recorded.
    async fn key_owner(
        &self,
        c: &mut twostep_store::Conn,
        key: Option<ssh_keys::SshKey>,
    ) -> Result<Option<Account>> {
        let Some(key) = key else {
            return Ok(None);
        };
        let now = self.now();
        if twostep_core::last_used::due(key.last_used_at, now) {
            ssh_keys::touch(c, &key.id, now).await?;
        }
        Ok(users::by_id(c, &key.user_id).await?.map(Account::from))
    }

    async fn ssh_recovery_candidate(&self, user_id: &UserId) -> Result<User> {
        let user = self.user_row(user_id).await?;
        if user.two_step_enabled_at.is_none() {
            return Err(AuthError::Conflict(format!(
                "Two-step verification is off for {}: you sign in with your password alone, and there are no recovery codes to replace.",
                user.username
            )));
        }
        if let Some(locked) = Self::lock_refusal(&user, self.now()) {
            return Err(locked);
        }
        Ok(user)
    }

    async fn codes_over_ssh(
        &self,
        mut tx: twostep_store::Tx,
        user: &User,
        how: &str,
        ctx: &Ctx,
    ) -> Result<Vec<RecoveryCode>> {
        let now = self.now();
        users::lock_row(&mut tx, &user.id).await?;
        let codes = self
            .new_recovery_codes(&mut tx, &user.id, None, now)
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
            user,
            "New recovery codes were generated over SSH",
            &format!("New recovery codes were generated over SSH with your SSH key and the {how}; the previous ones no longer work."),
            ctx,
        )
        .await;
        Ok(codes)
    }
}

impl SignIn<'_> {
    /// The account a registered SSH key (by `SHA256:` fingerprint) belongs to.
    pub async fn ssh_user(&self, fingerprint: &str) -> Result<Option<Account>> {
        let mut c = self.store().conn().await?;
        let key = ssh_keys::by_fingerprint(&mut c, fingerprint).await?;
        self.key_owner(&mut c, key).await
    }

    /// A security key's signature said nobody touched the key: the sign-in
    /// was refused; its owner's security log says so (malware holding the
    /// key handle, or a key set to sign without a touch).
    pub async fn ssh_key_not_touched(&self, fingerprint: &str, ctx: &Ctx) -> Result<()> {
        let mut c = self.store().conn().await?;
        let Some(key) = ssh_keys::by_fingerprint(&mut c, fingerprint).await? else {
            return Ok(());
        };
        drop(c);
        let now = self.now();
        let mut tx = self.store().begin().await?;
        self.audit(
            &mut tx,
            &key.user_id,
            now,
            Event::SshKeyNotTouched,
            &format!("{} {}", key.title, key.fingerprint),
            ctx,
        )
        .await?;
        commit(tx).await
    }

    /// For OpenSSH's `AuthorizedKeysCommand`: the registered key with this
    /// fingerprint (its id and OpenSSH line), looked up without marking it used.
    pub async fn ssh_key_for_sshd(&self, fingerprint: &str) -> Result<Option<(String, String)>> {
        let mut c = self.store().conn().await?;
        Ok(ssh_keys::by_fingerprint(&mut c, fingerprint)
            .await?
            .map(|k| (k.id, k.public_key)))
    }

    /// `twostep serv KEY-ID` behind OpenSSH: the account of the key sshd
    /// accepted, if it is still registered.
    pub async fn ssh_user_by_key_id(&self, key_id: &str) -> Result<Option<Account>> {
        let mut c = self.store().conn().await?;
        let key = ssh_keys::by_id(&mut c, key_id).await?;
        self.key_owner(&mut c, key).await
    }

    /// Whether `recovery_codes` can make codes for this account at all
    /// (asked before the password, so nobody types it for nothing).
    pub async fn recovery_codes_over_ssh_possible(&self, user_id: &UserId) -> Result<()> {
        self.ssh_recovery_candidate(user_id).await.map(|_| ())
    }

    /// `ssh git@HOST recovery_codes`: the SSH key proved who is asking; the
    /// account password is the second proof. Wrong passwords are throttled
    /// for the SSH key's own budget; mail and log either way.
    pub async fn recovery_codes_over_ssh(
        &self,
        user_id: &UserId,
        password: &str,
        ctx: &Ctx,
    ) -> Result<Vec<RecoveryCode>> {
        let user = self.ssh_recovery_candidate(user_id).await?;
        if let Err(refusal) = self
            .check_password_as(Some(&user), password, SSH_KEY, ctx)
            .await
        {
            if matches!(refusal, AuthError::BadCredentials) {
                self.notify(
                    &user,
                    "Failed request for recovery codes over SSH",
                    "A wrong password was entered when asking for new recovery codes over SSH. No codes were made.",
                    ctx,
                )
                .await;
            }
            return Err(refusal);
        }
        let tx = self.store().begin().await?;
        self.codes_over_ssh(tx, &user, "password", ctx).await
    }

    /// The same for an account with no password: the SSH key, and the
    /// owner's approval of the mailed link (`mail_ssh_approval`).
    pub async fn recovery_codes_over_ssh_approved(
        &self,
        user_id: &UserId,
        handle: &str,
        ctx: &Ctx,
    ) -> Result<Vec<RecoveryCode>> {
        let user = self.ssh_recovery_candidate(user_id).await?;
        let mut tx = self.store().begin().await?;
        if !self
            .use_ssh_approval(&mut tx, handle, &user.id, RECOVERY_CODES_REQUEST)
            .await?
        {
            return Err(AuthError::LinkInvalid);
        }
        self.codes_over_ssh(tx, &user, "approval of the mailed link", ctx)
            .await
    }
}
