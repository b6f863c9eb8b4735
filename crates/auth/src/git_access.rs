//! Who is calling, for Git over HTTP and HTTP Basic on the API: an app
//! password, or the account password while two-step verification is off.

use twostep_core::app_password::{self, Scope};
use twostep_core::{token, UnixTime};
use twostep_store::{app_passwords as store_ap, users};

use crate::notify::Event;
use crate::{commit, Account, AuthError, AuthService, Ctx, Result, SessionInfo};

/// "Last used" of an app password is written at most this often.
const TOUCH_EVERY: i64 = 60;

/// App passwords carry scopes; passwords and browser sessions (`None`) all rights.
pub fn require_scope(scopes: Option<&[Scope]>, needed: Scope) -> Result<()> {
    match scopes {
        Some(s) if !app_password::grants(s, needed) => {
            Err(AuthError::MissingScope(needed.as_str()))
        }
        _ => Ok(()),
    }
}

/// An authenticated caller that did not come through a browser session.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: Account,
    /// `None`: the account password (full rights); `Some`: an app password's scopes.
    pub scopes: Option<Vec<Scope>>,
}

impl Principal {
    /// As a caller for the API handlers (complete, never in sudo mode).
    pub fn into_session(self) -> SessionInfo {
        SessionInfo {
            user: self.user,
            caller: match self.scopes {
                Some(scopes) => crate::Caller::AppPassword { scopes },
                None => crate::Caller::Password,
            },
            complete: true,
            sudo_until: None,
            created_at: UnixTime::EPOCH,
        }
    }
}

impl AuthService {
    /// HTTP Basic: username and an app password, or the account password when
    /// two-step verification is off.
    pub async fn authenticate_basic(
        &self,
        username: &str,
        secret: &str,
        ctx: &Ctx,
    ) -> Result<Principal> {
        if username.len() > 254 || secret.len() > twostep_core::password::MAX_PASSWORD_BYTES {
            return Err(AuthError::BadCredentials);
        }
        let now = self.now();
        // Bitbucket's convention for OAuth access tokens (and GitLab's `oauth2`).
        if username == "x-token-auth" || username == "oauth2" {
            return self.authenticate_bearer(secret).await;
        }
        if app_password::looks_like_token(secret) {
            let hash = token::token_hash(secret);
            // One indexed read, and a write at most once a minute per app
            // password: Git and API calls do not queue for the write lock.
            let mut c = self.store().conn().await?;
            let Some((row, user)) = store_ap::by_hash_with_user(&mut c, &hash).await? else {
                return Err(AuthError::BadCredentials);
            };
            // The name typed with it must be its owner's (username or email).
            let named = username.eq_ignore_ascii_case(&user.username)
                || username.to_lowercase() == user.email.to_lowercase();
            if !named {
                return Err(AuthError::BadCredentials);
            }
            if row.last_used_at.is_none_or(|t| now - t >= TOUCH_EVERY) {
                store_ap::touch(&mut c, &row.id, now).await?;
            }
            drop(c);
            let scopes =
                app_password::parse_scopes(row.scopes.split_whitespace()).unwrap_or_default();
            return Ok(Principal {
                user: user.into(),
                scopes: Some(scopes),
            });
        }
        let user = {
            let mut c = self.store().conn().await?;
            match users::by_username(&mut c, &username.to_ascii_lowercase()).await? {
                Some(u) => Some(u),
                None => users::by_email(&mut c, username).await?,
            }
        };
        self.check_password(user.as_ref(), secret, ctx).await?;
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
        Ok(Principal {
            user: user.into(),
            scopes: None,
        })
    }
}
