//! What the SSH front-end asks first: whose key is this.

use twostep_core::sk_signature::{self, Assertion, SkRefusal};
use twostep_core::sshkey::{self, KeyOptions};
use twostep_store::{ssh_keys, users};

use super::SignIn;
use crate::notify::Event;
use crate::{commit, Account, AuthService, Ctx, Result, SshKeyUse};

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

/// What a workspace's SSH rule sees of a key: a FIDO key that signs without
/// a touch (`no-touch-required`) proves no presence, so it does not count.
fn key_use(fido: bool, options: KeyOptions) -> SshKeyUse {
    let fido = fido && !options.no_touch_required;
    SshKeyUse {
        fido,
        verify_required: fido && options.verify_required,
    }
}

/// A FIDO key's counter alarm is mailed at most this often.
const COUNTER_MAIL_EVERY: i64 = 3600;

/// What became of an SSH key's signature.
#[derive(Debug, Clone)]
#[must_use]
pub enum KeySignIn {
    Accepted {
        user: Account,
        key: SshKeyUse,
    },
    /// A registered FIDO key whose signature lacks a flag its options ask
    /// for; logged and written to the owner's security log.
    Refused(SkRefusal),
    /// No account has this key.
    Unknown,
}

impl AuthService {
    /// The signature counter of a FIDO key: kept, and one that went back is
    /// logged, written to the security log and mailed (hourly at most).
    async fn check_counter(&self, key: &ssh_keys::SshKey, counter: u32, ctx: &Ctx) -> Result<()> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let highest = ssh_keys::record_counter(&mut tx, &key.id, i64::from(counter)).await?;
        if !sk_signature::counter_went_back(highest, counter) {
            return commit(tx).await;
        }
        tracing::warn!(fingerprint = %key.fingerprint, counter, highest, ip = %ctx.ip, "security key counter went back");
        let mailed_lately = twostep_store::security_log::count_since(
            &mut tx,
            &key.user_id,
            Event::SshKeyCounterWentBack.as_str(),
            now - COUNTER_MAIL_EVERY,
        )
        .await?
            > 0;
        let what = format!(
            "{} {}: counter {counter} after {}",
            key.title,
            key.fingerprint,
            highest.unwrap_or_default()
        );
        self.audit(
            &mut tx,
            &key.user_id,
            now,
            Event::SshKeyCounterWentBack,
            &what,
            ctx,
        )
        .await?;
        commit(tx).await?;
        if !mailed_lately {
            let user = self.user_row(&key.user_id).await?;
            let body = format!(
                "The security key \"{}\" ({}) signed in over SSH from {} with signature counter {counter}, \
                 but it had already reported {}. A key's counter only grows: another copy of this key \
                 may be signing for you (a cloned key, or its key handle file used elsewhere).\n\n\
                 If you did not expect this, remove the key now and review your account:\n{}",
                key.title,
                key.fingerprint,
                ctx.ip,
                highest.unwrap_or_default(),
                self.link("/account/ssh-keys")
            );
            self.notify(&user, "Your security key's counter went back", &body, ctx)
                .await;
        }
        Ok(())
    }
}

impl SignIn<'_> {
    /// The account a registered SSH key (by `SHA256:` fingerprint) belongs to.
    pub async fn ssh_user(&self, fingerprint: &str) -> Result<Option<Account>> {
        let mut c = self.store().conn().await?;
        let key = ssh_keys::by_fingerprint(&mut c, fingerprint).await?;
        self.key_owner(&mut c, key).await
    }

    /// A key's signature was verified: whose key it is, and, for a FIDO key,
    /// whether its flags meet the key's options (a touch unless
    /// `no-touch-required`; a PIN or biometric if `verify-required`), as
    /// OpenSSH's sshd decides. `said`: the flags and counter of a FIDO
    /// key's signature.
    pub async fn ssh_key_sign_in(
        &self,
        fingerprint: &str,
        said: Option<Assertion>,
        ctx: &Ctx,
    ) -> Result<KeySignIn> {
        let mut c = self.store().conn().await?;
        let Some(key) = ssh_keys::by_fingerprint(&mut c, fingerprint).await? else {
            return Ok(KeySignIn::Unknown);
        };
        drop(c);
        let options = KeyOptions::from_text(&key.options);
        let fido = sshkey::is_security_key(&key.algorithm);
        if fido {
            if let Err(refusal) = sk_signature::admit(said, options) {
                tracing::warn!(fingerprint = %key.fingerprint, ip = %ctx.ip, "ssh key refused: {}", refusal.as_str());
                let event = match refusal {
                    SkRefusal::NotTouched => Event::SshKeyNotTouched,
                    SkRefusal::NotVerified => Event::SshKeyNotVerified,
                };
                let mut tx = self.store().begin().await?;
                self.audit(
                    &mut tx,
                    &key.user_id,
                    self.now(),
                    event,
                    &format!("{} {}", key.title, key.fingerprint),
                    ctx,
                )
                .await?;
                commit(tx).await?;
                return Ok(KeySignIn::Refused(refusal));
            }
            if let Some(a) = said {
                self.check_counter(&key, a.counter, ctx).await?;
            }
        }
        let use_ = key_use(fido, options);
        let mut c = self.store().conn().await?;
        Ok(match self.key_owner(&mut c, Some(key)).await? {
            Some(user) => KeySignIn::Accepted { user, key: use_ },
            None => KeySignIn::Unknown,
        })
    }

    /// For OpenSSH's `AuthorizedKeysCommand`: the registered key with this
    /// fingerprint (its id, its options as authorized_keys writes them, and
    /// its OpenSSH line), looked up without marking it used. sshd then holds
    /// the key's signatures to its options.
    pub async fn ssh_key_for_sshd(
        &self,
        fingerprint: &str,
    ) -> Result<Option<(String, String, String)>> {
        let mut c = self.store().conn().await?;
        Ok(ssh_keys::by_fingerprint(&mut c, fingerprint)
            .await?
            .map(|k| {
                let options = KeyOptions::from_text(&k.options).as_text();
                (k.id, options, k.public_key)
            }))
    }

    /// `twostep serv KEY-ID` behind OpenSSH: the account of the key sshd
    /// accepted, if it is still registered, and what the key is.
    pub async fn ssh_user_by_key_id(&self, key_id: &str) -> Result<Option<(Account, SshKeyUse)>> {
        let mut c = self.store().conn().await?;
        let Some(key) = ssh_keys::by_id(&mut c, key_id).await? else {
            return Ok(None);
        };
        let use_ = key_use(
            sshkey::is_security_key(&key.algorithm),
            KeyOptions::from_text(&key.options),
        );
        Ok(self.key_owner(&mut c, Some(key)).await?.map(|u| (u, use_)))
    }
}
