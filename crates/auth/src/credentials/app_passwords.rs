//! App passwords for Git over HTTPS and the API.

use twostep_core::app_password::{self, Scope};
use twostep_core::token;
use twostep_core::UnixTime;
use twostep_core::UserId;
use twostep_store::app_passwords as store_ap;

use super::Credentials;
use crate::gate::Action;
use crate::notify::Event;
use crate::signin::sudo::Proof;
use crate::{commit, rng, AuthError, AuthService, Ctx, Result, SessionInfo};
use twostep_store::users::User;

#[derive(Debug, Clone)]
pub struct AppPasswordView {
    pub id: String,
    pub label: String,
    pub scopes: Vec<Scope>,
    pub created_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
    pub expires_at: UnixTime,
}

impl From<store_ap::AppPassword> for AppPasswordView {
    fn from(a: store_ap::AppPassword) -> Self {
        AppPasswordView {
            id: a.id,
            label: a.label,
            scopes: app_password::parse_scopes(a.scopes.split_whitespace()).unwrap_or_default(),
            created_at: a.created_at,
            last_used_at: a.last_used_at,
            expires_at: a.expires_at,
        }
    }
}

/// App passwords change nothing about security: refuse them here.
/// The one rule that keeps app passwords away from security settings.
pub fn require_full_session(s: &SessionInfo) -> Result<()> {
    if matches!(s.caller, crate::Caller::AppPassword { .. }) {
        return Err(AuthError::AppPasswordNotAllowed);
    }
    Ok(())
}

impl AuthService {
    /// Seconds a new app password or grant lasts: `days` when chosen (1 up
    /// to the configured maximum), else a year or that maximum if shorter.
    pub(crate) fn credential_lifetime(&self, days: Option<i64>) -> Result<i64> {
        let max = self.settings().credential_max_lifetime;
        match days {
            None => Ok(self.default_credential_lifetime()),
            Some(d) if d >= 1 && d.saturating_mul(86400) <= max => Ok(d * 86400),
            Some(_) => Err(AuthError::invalid(
                "invalid_expiry",
                "expires_in_days",
                format!("Choose an expiry from 1 to {} days.", max / 86400),
            )),
        }
    }

    /// A year, or the configured maximum if shorter.
    pub(crate) fn default_credential_lifetime(&self) -> i64 {
        crate::CREDENTIAL_LIFETIME.min(self.settings().credential_max_lifetime)
    }

    /// Revokes inside `tx` (opened by whatever allowed it), audits, commits
    /// and mails.
    pub(crate) async fn revoke_app_password_in(
        &self,
        mut tx: twostep_store::Tx,
        user: &User,
        id: &str,
        ctx: &Ctx,
    ) -> Result<()> {
        let now = self.now();
        let gone = store_ap::delete(&mut tx, &user.id, id)
            .await?
            .ok_or(AuthError::NotFound)?;
        self.audit(
            &mut tx,
            &user.id,
            now,
            Event::AppPasswordRevoked,
            &gone.label,
            ctx,
        )
        .await?;
        commit(tx).await?;
        self.notify(
            user,
            "An app password was revoked",
            &format!("The app password \"{}\" was revoked.", gone.label),
            ctx,
        )
        .await;
        Ok(())
    }
}

impl Credentials<'_> {
    /// Creates an app password; the token is returned once and stored hashed.
    pub async fn create_app_password(
        &self,
        session: &SessionInfo,
        label: &str,
        scopes: &[&str],
        expires_in_days: Option<i64>,
        proof: &Proof,
        ctx: &Ctx,
    ) -> Result<(String, AppPasswordView)> {
        let lifetime = self.credential_lifetime(expires_in_days)?;
        let label = label.trim();
        if label.is_empty() || label.chars().count() > app_password::MAX_LABEL {
            return Err(AuthError::invalid(
                "invalid_label",
                "label",
                "Give the app password a label of up to 100 characters, e.g. \"laptop git\".",
            ));
        }
        let scopes = app_password::parse_scopes(scopes.iter().copied())
            .map_err(|m| AuthError::invalid("invalid_scope", "scopes", m))?;
        if scopes.is_empty() {
            return Err(AuthError::invalid(
                "invalid_scope",
                "scopes",
                "Choose at least one permission.",
            ));
        }
        let (mut tx, _) = self
            .begin_action(Action::CreateAppPassword, session, proof, None, ctx)
            .await?;
        let now = self.now();
        let secret = app_password::new_token(&mut rng());
        let row = store_ap::AppPassword {
            id: token::new_id(&mut rng()),
            user_id: session.user.id.clone(),
            label: label.to_string(),
            token_hash: token::token_hash(&secret),
            scopes: app_password::join_scopes(&scopes),
            created_at: now,
            last_used_at: None,
            expires_at: now + lifetime,
        };
        store_ap::insert(&mut tx, &row).await?;
        self.audit(
            &mut tx,
            &row.user_id,
            now,
            Event::AppPasswordCreated,
            &format!(
                "{} ({}), expires {} UTC",
                row.label,
                row.scopes,
                crate::utc(row.expires_at)
            ),
            ctx,
        )
        .await?;
        commit(tx).await?;
        self.notify(
            &session.user,
            "An app password was created",
            &format!(
                "The app password \"{}\" ({}) was created. It expires on {} UTC; we will remind you a week before.",
                row.label,
                row.scopes,
                crate::utc(row.expires_at)
            ),
            ctx,
        )
        .await;
        Ok((secret, row.into()))
    }

    pub async fn app_passwords(&self, user_id: &UserId) -> Result<Vec<AppPasswordView>> {
        let mut c = self.store().conn().await?;
        Ok(store_ap::for_user(&mut c, user_id)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Revoked at once: the next request with it is refused.
    pub async fn revoke_app_password(
        &self,
        session: &SessionInfo,
        id: &str,
        proof: &Proof,
        ctx: &Ctx,
    ) -> Result<()> {
        let (tx, user) = self
            .begin_action(Action::RevokeAppPassword, session, proof, None, ctx)
            .await?;
        self.revoke_app_password_in(tx, &user, id, ctx).await
    }
}
