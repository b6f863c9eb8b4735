//! Who is calling, for Git over HTTP and HTTP Basic on the API: an app
//! password, or the account password while two-step verification is off.

use twostep_core::app_password::{self, Scope};
use twostep_core::token;
use twostep_store::{app_passwords as store_ap, users};

use super::Repos;
use crate::gate::CallerKind;
use crate::notify::Event;
use crate::{commit, AuthError, Caller, Ctx, Result, SessionInfo};

/// App passwords carry scopes; passwords and browser sessions (`None`) all rights.
pub fn require_scope(scopes: Option<&[Scope]>, needed: Scope) -> Result<()> {
    match scopes {
        Some(s) if !app_password::grants(s, needed) => {
            Err(AuthError::MissingScope(needed.as_str()))
        }
        _ => Ok(()),
    }
}

/// What HTTP Basic credentials are, by their shape (before checking them).
pub fn basic_kind(username: &str, secret: &str) -> CallerKind {
    if username == "x-token-auth" || username == "oauth2" {
        CallerKind::OAuthToken
    } else if app_password::looks_like_token(secret) {
        CallerKind::AppPassword
    } else {
        CallerKind::BasicPassword
    }
}

impl Repos<'_> {
    /// HTTP Basic: username and an app password, or the account password when
    /// two-step verification is off.
    pub async fn authenticate_basic(
        &self,
        username: &str,
        secret: &str,
        ctx: &Ctx,
    ) -> Result<SessionInfo> {
        if username.len() > 254 || secret.len() > twostep_core::password::MAX_PASSWORD_BYTES {
            return Err(AuthError::BadCredentials);
        }
        let now = self.now();
        // Bitbucket's convention for OAuth access tokens (and GitLab's `oauth2`).
        if basic_kind(username, secret) == CallerKind::OAuthToken {
            return self
                .oauth()
                .authenticate_bearer(secret)
                .await
                .map_err(|e| match e {
                    AuthError::InvalidToken => AuthError::BadCredentials,
                    e => e,
                });
        }
        if basic_kind(username, secret) == CallerKind::AppPassword {
            let hash = token::token_hash(secret);
            // One indexed read, and a write at most once a minute per app
            // password: Git and API calls do not queue for the write lock.
            let mut c = self.store().conn().await?;
            let Some((row, user)) = store_ap::by_hash_with_user(&mut c, &hash).await? else {
                return Err(AuthError::BadCredentials);
            };
            if row.expires_at <= now {
                return Err(AuthError::CredentialExpired {
                    what: format!("The app password \"{}\"", row.label),
                    at_utc: crate::utc(row.expires_at),
                });
            }
            // The name typed with it must be its owner's (username or email).
            let named = username.eq_ignore_ascii_case(&user.username)
                || username.to_lowercase() == user.email.to_lowercase();
            if !named {
                return Err(AuthError::BadCredentials);
            }
            if twostep_core::last_used::due(row.last_used_at, now) {
                store_ap::touch(&mut c, &row.id, now).await?;
            }
            drop(c);
            let scopes =
                app_password::parse_scopes(row.scopes.split_whitespace()).unwrap_or_default();
            return Ok(SessionInfo::sessionless(
                user.into(),
                Caller::AppPassword { scopes },
            ));
        }
        let user = {
            let mut c = self.store().conn().await?;
            match users::by_username(&mut c, &username.to_ascii_lowercase()).await? {
                Some(u) => Some(u),
                None => users::by_email(&mut c, username).await?,
            }
        };
        commit(
            self.check_login_open(user.as_ref(), username, secret, ctx)
                .await?,
        )
        .await?;
        let Some(user) = user else {
            return Err(AuthError::BadCredentials);
        };
        if user.two_step_enabled_at.is_some() {
            let mut tx = self.store().begin().await?;
            self.audit(
                &mut tx,
                &user.id,
                now,
                Event::AppPasswordRefused,
                ctx.channel.as_str(),
                ctx,
            )
            .await?;
            commit(tx).await?;
            return Err(AuthError::AppPasswordRequired {
                username: user.username.clone(),
                url: self.link("/account/app-passwords"),
            });
        }
        Ok(SessionInfo::sessionless(user.into(), Caller::Password))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_told_apart_by_their_shape() {
        assert_eq!(
            basic_kind("x-token-auth", "anything"),
            CallerKind::OAuthToken
        );
        assert_eq!(basic_kind("oauth2", "anything"), CallerKind::OAuthToken);
        assert_eq!(
            basic_kind("dora", "violet-harbour-2931"),
            CallerKind::BasicPassword
        );
    }

    #[test]
    fn a_scope_missing_is_refused_and_sessions_have_every_scope() {
        require_scope(None, Scope::RepoWrite).unwrap();
        require_scope(Some(&[Scope::RepoWrite]), Scope::RepoRead).unwrap();
        let e = require_scope(Some(&[Scope::RepoRead]), Scope::RepoWrite).unwrap_err();
        assert_eq!(e.code(), "insufficient_scope");
    }
}
