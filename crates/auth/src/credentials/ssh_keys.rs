//! Registered SSH public keys.

use twostep_core::{sshkey, token};
use twostep_core::{UnixTime, UserId};
use twostep_store::{ssh_keys, StoreError};

use super::Credentials;
use crate::gate::Action;
use crate::notify::Event;
use crate::signin::sudo::Proof;
use crate::{commit, rng, AuthError, AuthService, Ctx, Result, SessionInfo};
use ssh_keys::SshKey as Row;

const MAX_TITLE: usize = 100;

/// A registered SSH public key as the owner sees it.
#[derive(Debug, Clone)]
pub struct SshKey {
    pub id: String,
    pub title: String,
    pub algorithm: String,
    pub public_key: String,
    pub fingerprint: String,
    pub bits: i64,
    pub created_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
    /// `verify-required`, `no-touch-required` (FIDO keys), as authorized_keys writes them.
    pub options: String,
}

impl From<Row> for SshKey {
    fn from(k: Row) -> SshKey {
        SshKey {
            id: k.id,
            title: k.title,
            algorithm: k.algorithm,
            public_key: k.public_key,
            fingerprint: k.fingerprint,
            bits: k.bits,
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            options: sshkey::KeyOptions::from_text(&k.options).as_text(),
        }
    }
}

impl AuthService {
    /// Removes a key inside `tx` (opened by whatever allowed it), audits,
    /// commits and mails.
    pub(crate) async fn remove_ssh_key_in(
        &self,
        mut tx: twostep_store::Tx,
        user_id: &UserId,
        key_id: &str,
        ctx: &Ctx,
    ) -> Result<SshKey> {
        let now = self.now();
        let removed = ssh_keys::delete(&mut tx, user_id, key_id)
            .await?
            .ok_or(AuthError::NotFound)?;
        self.key_changed(
            tx,
            user_id,
            &removed,
            Event::SshKeyRemoved,
            "removed from",
            now,
            ctx,
        )
        .await?;
        Ok(removed.into())
    }

    /// Audits and commits a key change, then mails the owner.
    #[allow(clippy::too_many_arguments)]
    async fn key_changed(
        &self,
        mut tx: twostep_store::Tx,
        user_id: &UserId,
        key: &Row,
        event: Event,
        verb: &str,
        now: UnixTime,
        ctx: &Ctx,
    ) -> Result<()> {
        let what = format!("{} {}", key.title, key.fingerprint);
        self.audit(&mut tx, user_id, now, event, &what, ctx).await?;
        commit(tx).await?;
        let user = self.user_row(user_id).await?;
        let subject = if event == Event::SshKeyAdded {
            "An SSH key was added"
        } else {
            "An SSH key was removed"
        };
        let body = format!(
            "The SSH key \"{}\" ({}) was {verb} your account.",
            key.title, key.fingerprint
        );
        self.notify(&user, subject, &body, ctx).await;
        Ok(())
    }
}

impl Credentials<'_> {
    pub async fn ssh_keys(&self, user_id: &UserId) -> Result<Vec<SshKey>> {
        let mut c = self.store().conn().await?;
        let keys = ssh_keys::for_user(&mut c, user_id).await?;
        Ok(keys.into_iter().map(SshKey::from).collect())
    }

    /// SSH keys open Git and recovery over SSH: never changed with an app password.
    pub async fn add_ssh_key(
        &self,
        session: &SessionInfo,
        title: &str,
        line: &str,
        proof: &Proof,
        ctx: &Ctx,
    ) -> Result<SshKey> {
        let user_id = &session.user.id;
        // Options as authorized_keys has them may come first (FIDO keys):
        // `no-touch-required` is chosen here, in sudo mode, by the owner.
        let (options, key) = sshkey::parse_with_options(line)
            .map_err(|e| AuthError::invalid("invalid_ssh_key", "key", e.to_string()))?;
        let title = title.trim();
        if title.chars().count() > MAX_TITLE {
            return Err(AuthError::invalid(
                "invalid_title",
                "title",
                format!("Keep the label under {MAX_TITLE} characters."),
            ));
        }
        let title = if title.is_empty() {
            if key.comment.is_empty() {
                key.algorithm.clone()
            } else {
                key.comment.clone()
            }
        } else {
            title.to_string()
        };
        let (mut tx, _) = self
            .begin_action(Action::AddSshKey, session, proof, None, ctx)
            .await?;
        let now = self.now();
        let row = Row {
            id: token::new_id(&mut rng()),
            user_id: user_id.clone(),
            title,
            algorithm: key.algorithm.clone(),
            public_key: key.openssh(),
            fingerprint: key.fingerprint(),
            bits: key.bits as i64,
            created_at: now,
            last_used_at: None,
            options: options.as_text(),
            sk_counter: None,
        };
        match ssh_keys::insert(&mut tx, &row).await {
            Err(StoreError::Conflict) => {
                return Err(AuthError::invalid(
                    "duplicate_ssh_key",
                    "key",
                    format!("This key ({}) is registered already, to this or another account. A key can belong to one account only.", row.fingerprint),
                ))
            }
            other => other?,
        }
        self.key_changed(tx, user_id, &row, Event::SshKeyAdded, "added to", now, ctx)
            .await?;
        Ok(row.into())
    }

    pub async fn remove_ssh_key(
        &self,
        session: &SessionInfo,
        key_id: &str,
        proof: &Proof,
        ctx: &Ctx,
    ) -> Result<SshKey> {
        let (tx, _) = self
            .begin_action(Action::RemoveSshKey, session, proof, None, ctx)
            .await?;
        self.remove_ssh_key_in(tx, &session.user.id, key_id, ctx)
            .await
    }
}
