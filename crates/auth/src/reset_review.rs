//! After a password reset: the account's SSH keys and app passwords, shown
//! (and mailed) so the owner sees what someone who held the account before
//! may have left, each revocable with one click. The page holds a review
//! token made by the reset (one hour, hashed at rest); revoking only ever
//! removes access, so that token is all it needs.

use twostep_core::UserId;
use twostep_store::{app_passwords, email_tokens, ssh_keys, Conn};

use crate::{AppPasswordView, AuthError, AuthService, Ctx, Result, SshKey};
use twostep_store::users::User;

pub(crate) const REVIEW_CREDENTIALS: &str = "review_credentials";
pub(crate) const REVIEW_TTL: i64 = 3600;

/// One credential to revoke from the review page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential<'a> {
    SshKey(&'a str),
    AppPassword(&'a str),
}

impl AuthService {
    /// The user, SSH keys and app passwords behind a live review token.
    pub async fn credentials_after_reset(
        &self,
        review: &str,
    ) -> Result<(User, Vec<SshKey>, Vec<AppPasswordView>)> {
        let mut c = self.store().conn().await?;
        let user = self.reviewer(&mut c, review).await?;
        let keys = ssh_keys::for_user(&mut c, &user.id).await?;
        let apps = app_passwords::for_user(&mut c, &user.id)
            .await?
            .into_iter()
            .map(Into::into)
            .collect();
        Ok((user, keys, apps))
    }

    /// Revokes one SSH key or app password of the account under review.
    pub async fn revoke_after_reset(
        &self,
        review: &str,
        what: Credential<'_>,
        ctx: &Ctx,
    ) -> Result<()> {
        let mut tx = self.store().begin().await?;
        let user = self.reviewer(&mut tx, review).await?;
        match what {
            Credential::SshKey(id) => {
                self.remove_ssh_key_in(tx, &user.id, id, ctx).await?;
            }
            Credential::AppPassword(id) => {
                self.revoke_app_password_in(tx, &user, id, ctx).await?;
            }
        }
        Ok(())
    }

    async fn reviewer(&self, c: &mut Conn, review: &str) -> Result<User> {
        let now = self.now();
        let hash = twostep_core::token::token_hash(review.get(..100).unwrap_or(review));
        let t = email_tokens::get(&mut *c, &hash, REVIEW_CREDENTIALS)
            .await?
            .filter(|t| t.used_at.is_none() && t.expires_at > now)
            .ok_or(AuthError::LinkInvalid)?;
        twostep_store::users::by_id(c, &t.user_id)
            .await?
            .ok_or(AuthError::LinkInvalid)
    }

    /// The lines of the reset mail that list what can still reach the account.
    pub(crate) async fn credentials_listing(
        &self,
        c: &mut Conn,
        user_id: &UserId,
    ) -> Result<String> {
        let keys = ssh_keys::for_user(&mut *c, user_id).await?;
        let apps = app_passwords::for_user(c, user_id).await?;
        if keys.is_empty() && apps.is_empty() {
            return Ok("The account has no SSH keys and no app passwords.".into());
        }
        let mut text = String::from(
            "These can still reach your account. If you do not recognise one, revoke it on the page \
             shown after the reset, or from your account settings:\n",
        );
        for k in &keys {
            text.push_str(&format!("- SSH key \"{}\" {}\n", k.title, k.fingerprint));
        }
        for a in &apps {
            text.push_str(&format!("- App password \"{}\" ({})\n", a.label, a.scopes));
        }
        Ok(text)
    }
}
