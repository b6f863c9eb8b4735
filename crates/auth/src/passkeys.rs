//! Passkeys: discoverable WebAuthn credentials with user verification. One
//! is added like a security key (two-step on, sudo) and listed with them; it
//! signs in with no username and no password, as both factors at once
//! (something held, unlocked by a PIN or a biometric the authenticator
//! checked). The browser offers the account; the user handle it returns
//! names the account, the credential id the key, and both must agree.

use serde_json::Value;
use twostep_core::token;
use twostep_store::security_keys as keys;
use twostep_store::sessions;
use twostep_store::users::{self, User};
use webauthn_rs::prelude::{DiscoverableAuthentication, Passkey, PublicKeyCredential};

use crate::notify::Event;
use crate::security_keys::{bad_credential, user_uuid, Kind, SecurityKeyView, CEREMONY_TTL};
use crate::signin::FULL_TTL;
use crate::{commit, rng, AuthError, AuthService, Ctx, Result, SessionInfo};

fn not_registered() -> AuthError {
    AuthError::invalid(
        "unknown_passkey",
        "passkey",
        "That passkey is not registered here. Sign in with your username and password, then add it under Two-step verification.",
    )
}

fn internal(e: impl std::fmt::Display) -> AuthError {
    AuthError::Internal(e.to_string())
}

impl AuthService {
    /// Options for `navigator.credentials.create()` of a passkey.
    pub async fn begin_passkey_registration(
        &self,
        session: &SessionInfo,
        name: &str,
    ) -> Result<(String, Value)> {
        self.begin_registration(session, name, Kind::Passkey).await
    }

    pub async fn finish_passkey_registration(
        &self,
        session: &SessionInfo,
        ceremony: &str,
        credential: Value,
        ctx: &Ctx,
    ) -> Result<SecurityKeyView> {
        self.finish_registration(session, ceremony, credential, ctx, Kind::Passkey)
            .await
    }

    /// Options for a password-less sign-in (the page's autofill or its
    /// button), with no account named yet.
    pub async fn begin_passkey_signin(&self, ctx: &Ctx) -> Result<(String, Value)> {
        let wa = self.webauthn()?;
        let (options, state) = wa
            .start_discoverable_authentication()
            .map_err(|e| AuthError::Internal(format!("webauthn: {e}")))?;
        let id = token::new_id(&mut rng());
        let now = self.now();
        let state = serde_json::to_string(&state).map_err(internal)?;
        let mut c = self.store().conn().await?;
        if !keys::save_challenge(&mut c, &id, &state, &ctx.ip, now, now + CEREMONY_TTL).await? {
            return Err(AuthError::Busy);
        }
        Ok((id, serde_json::to_value(options).map_err(internal)?))
    }

    /// A full session for the passkey's owner, or why not.
    pub async fn finish_passkey_signin(
        &self,
        ceremony: &str,
        credential: Value,
        ctx: &Ctx,
    ) -> Result<(String, User)> {
        let r = self.passkey_step(ceremony, credential, ctx).await;
        crate::metrics::passkey_step(ctx.channel, &r);
        r
    }

    async fn passkey_step(
        &self,
        ceremony: &str,
        credential: Value,
        ctx: &Ctx,
    ) -> Result<(String, User)> {
        let wa = self.webauthn()?;
        let now = self.now();
        let cred: PublicKeyCredential =
            serde_json::from_value(credential).map_err(bad_credential)?;
        let (handle, cred_id) = wa
            .identify_discoverable_authentication(&cred)
            .map_err(|_| not_registered())?;
        let cred_id = data_encoding::BASE64URL_NOPAD.encode(cred_id);
        let mut tx = self.store().begin().await?;
        let state = keys::take_challenge(&mut tx, ceremony, now)
            .await?
            .ok_or_else(|| {
                AuthError::Conflict(
                    "That sign-in expired. Reload the page and try the passkey again.".into(),
                )
            })?;
        let row = keys::passkey_by_cred_id(&mut tx, &cred_id)
            .await?
            .filter(|row| user_uuid(&row.user_id) == handle)
            .ok_or_else(not_registered)?;
        let user = match self.second_step_gate(&mut tx, &row.user_id, now).await? {
            Ok(user) if user.two_step_enabled_at.is_some() => user,
            Ok(_) => return Err(not_registered()),
            Err(refusal) => {
                let user = users::by_id(&mut tx, &row.user_id)
                    .await?
                    .ok_or_else(not_registered)?;
                return self.refuse(tx, &user, refusal, ctx).await;
            }
        };
        let state: DiscoverableAuthentication = serde_json::from_str(&state).map_err(internal)?;
        let mut passkey: Passkey = serde_json::from_str(&row.credential).map_err(internal)?;
        let result = match wa.finish_discoverable_authentication_v2(&cred, state, &passkey) {
            Ok(result) => result,
            Err(why) => {
                tracing::info!(user = %user.username, %why, "passkey refused");
                let refusal = self
                    .count_failure(
                        &mut tx,
                        &user,
                        now,
                        ctx,
                        "That passkey's answer was not valid.",
                    )
                    .await?;
                return self.refuse(tx, &user, refusal, ctx).await;
            }
        };
        passkey.update_credential(&result);
        let updated = serde_json::to_string(&passkey).map_err(internal)?;
        keys::used(&mut tx, &row.id, &updated, now).await?;
        self.factor_passed(&mut tx, &user, now, ctx).await?;
        let t = token::new_token(&mut rng());
        self.insert_session(&mut tx, &t, &user.id, sessions::Stage::Full, now, FULL_TTL)
            .await?;
        self.audit(
            &mut tx,
            &user.id,
            now,
            Event::SignedInWithPasskey,
            &format!("passkey \"{}\"", row.name),
            ctx,
        )
        .await?;
        commit(tx).await?;
        Ok((t, user))
    }
}
