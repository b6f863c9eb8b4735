//! After a password reset: the reset ended every bearer credential (app
//! passwords, authorised applications, sessions); the page lists what it
//! ended, so the owner knows what to make again, and the account's SSH
//! keys, each revocable with one click, since someone who held the account
//! before may have left one. The page holds a review token made by the
//! reset (one hour, hashed at rest); revoking only ever removes access, so
//! that token is all it needs.

use twostep_core::UserId;
use twostep_store::{ssh_keys, Conn};

use super::Recovery;
use crate::links::mailed::{self as links, Holder, Purpose};
use crate::{AuthError, AuthService, Ctx, Result, SshKey};
use twostep_store::users::User;

pub(crate) const REVIEW_TTL: i64 = 3600;

/// One credential to revoke from the review page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential<'a> {
    SshKey(&'a str),
}

impl AuthService {
    async fn reviewer(&self, c: &mut Conn, review: &str) -> Result<(User, Vec<String>)> {
        let now = self.now();
        let t = links::peek(
            &mut *c,
            review,
            Purpose::ReviewCredentials,
            Holder::Anyone,
            now,
        )
        .await?;
        let user = twostep_store::users::by_id(c, &t.user_id)
            .await?
            .ok_or(AuthError::LinkInvalid)?;
        let ended = t.subject.lines().map(str::to_string).collect();
        Ok((user, ended))
    }

    /// The lines of the reset mail: what the reset ended, and the SSH keys
    /// that can still reach the account.
    pub(crate) async fn credentials_listing(
        &self,
        c: &mut Conn,
        user_id: &UserId,
        ended: &[String],
    ) -> Result<String> {
        let keys = ssh_keys::for_user(&mut *c, user_id).await?;
        let mut text = String::new();
        if !ended.is_empty() {
            text.push_str("These stopped working; make new ones where you still need them:\n");
            for e in ended {
                text.push_str(&format!("- {e}\n"));
            }
            text.push('\n');
        }
        if keys.is_empty() {
            text.push_str("The account has no SSH keys.");
            return Ok(text);
        }
        text.push_str(
            "These SSH keys can still reach your account. If you do not recognise one, revoke it on \
             the page shown after the reset, or from your account settings:\n",
        );
        for k in &keys {
            text.push_str(&format!("- SSH key \"{}\" {}\n", k.title, k.fingerprint));
        }
        Ok(text)
    }
}

/// What the page after a reset shows.
#[derive(Debug, Clone)]
pub struct ResetReview {
    pub username: String,
    /// The SSH keys left on the account, each revocable.
    pub ssh_keys: Vec<SshKey>,
    /// What the reset ended (app passwords and applications), by name.
    pub ended: Vec<String>,
}

impl Recovery<'_> {
    /// The account behind a live review token, the SSH keys left on it, and
    /// what the reset ended.
    pub async fn credentials_after_reset(&self, review: &str) -> Result<ResetReview> {
        let mut c = self.store().conn().await?;
        let (user, ended) = self.reviewer(&mut c, review).await?;
        let keys = ssh_keys::for_user(&mut c, &user.id).await?;
        Ok(ResetReview {
            username: user.username,
            ssh_keys: keys.into_iter().map(SshKey::from).collect(),
            ended,
        })
    }

    /// Revokes one SSH key or app password of the account under review.
    pub async fn revoke_after_reset(
        &self,
        review: &str,
        what: Credential<'_>,
        ctx: &Ctx,
    ) -> Result<()> {
        let mut tx = self.store().begin().await?;
        let (user, _) = self.reviewer(&mut tx, review).await?;
        match what {
            Credential::SshKey(id) => {
                self.remove_ssh_key_in(tx, &user.id, id, ctx).await?;
            }
        }
        Ok(())
    }
}
