//! What the SSH front-end asks first: whose key is this.

use twostep_store::{ssh_keys, users};

use super::SignIn;
use crate::notify::Event;
use crate::{commit, Account, AuthService, Ctx, Result};

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
}
