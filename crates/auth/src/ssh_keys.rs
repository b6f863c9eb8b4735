//! Registered SSH public keys.

use twostep_core::{sshkey, token};
use twostep_store::{ssh_keys, StoreError};

use crate::notify::Event;
use crate::{commit, rng, AuthError, AuthService, Ctx, Result, SshKey};

const MAX_TITLE: usize = 100;

impl AuthService {
    pub async fn ssh_keys(&self, user_id: &str) -> Result<Vec<SshKey>> {
        let mut c = self.store().conn().await?;
        Ok(ssh_keys::for_user(&mut c, user_id).await?)
    }

    pub async fn add_ssh_key(
        &self,
        user_id: &str,
        title: &str,
        line: &str,
        ctx: &Ctx,
    ) -> Result<SshKey> {
        let key = sshkey::parse(line)
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
        let now = self.now();
        let row = SshKey {
            id: token::new_id(&mut rng()),
            user_id: user_id.to_string(),
            title,
            algorithm: key.algorithm.clone(),
            public_key: key.openssh(),
            fingerprint: key.fingerprint(),
            bits: key.bits as i64,
            created_at: now,
            last_used_at: None,
        };
        let mut tx = self.store().begin().await?;
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
        self.audit(
            &mut tx,
            user_id,
            now,
            Event::SshKeyAdded,
            &format!("{} {}", row.title, row.fingerprint),
            ctx,
        )
        .await?;
        commit(tx).await?;
        let user = self.user(user_id).await?;
        self.notify(
            &user,
            "An SSH key was added",
            &format!(
                "The SSH key \"{}\" ({}) was added to your account.",
                row.title, row.fingerprint
            ),
            ctx,
        )
        .await;
        Ok(row)
    }

    pub async fn remove_ssh_key(&self, user_id: &str, key_id: &str, ctx: &Ctx) -> Result<SshKey> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let removed = ssh_keys::delete(&mut tx, user_id, key_id)
            .await?
            .ok_or(AuthError::NotFound)?;
        self.audit(
            &mut tx,
            user_id,
            now,
            Event::SshKeyRemoved,
            &format!("{} {}", removed.title, removed.fingerprint),
            ctx,
        )
        .await?;
        commit(tx).await?;
        let user = self.user(user_id).await?;
        self.notify(
            &user,
            "An SSH key was removed",
            &format!(
                "The SSH key \"{}\" ({}) was removed from your account.",
                removed.title, removed.fingerprint
            ),
            ctx,
        )
        .await;
        Ok(removed)
    }
}
