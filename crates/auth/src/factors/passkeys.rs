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

use super::Factors;
use crate::factors::security_keys::{bad_credential, user_uuid, CEREMONY_TTL};
use crate::notify::Event;
use crate::Failure;
use crate::{commit, rng, AuthError, AuthService, Ctx, Result};

fn not_registered() -> AuthError {
    AuthError::invalid(
        "unknown_passkey",
        "passkey",
        "That passkey is not registered here. Sign in with your username and password, then add it under Two-step verification.",
    )
}

fn internal(e: serde_json::Error) -> AuthError {
    Failure::Json(e).into()
}

/// A password-less sign-in in progress, sealed in the page.
#[derive(serde::Serialize, serde::Deserialize)]
struct SealedSignin {
    state: DiscoverableAuthentication,
    expires_at: i64,
}

fn signin_context(browser: &str) -> Vec<u8> {
    format!("passkey-signin|{}", token::token_hash(browser)).into_bytes()
}

impl AuthService {
    async fn passkey_step(
        &self,
        ceremony: &str,
        browser: &str,
        credential: Value,
        ctx: &Ctx,
    ) -> Result<(String, User)> {
        let wa = self.webauthn()?;
        let now = self.now();
        let expired = || {
            AuthError::Conflict(
                "That sign-in expired. Reload the page and try the passkey again.".into(),
            )
        };
        let sealed: SealedSignin = Some(ceremony)
            .filter(|c| c.len() <= 4096)
            .and_then(|c| data_encoding::BASE64URL_NOPAD.decode(c.as_bytes()).ok())
            .and_then(|b| self.keys().open(&b, &signin_context(browser)).ok())
            .and_then(|plain| serde_json::from_slice(&plain).ok())
            .ok_or_else(expired)?;
        if sealed.expires_at <= now.secs() {
            return Err(expired());
        }
        let cred: PublicKeyCredential =
            serde_json::from_value(credential).map_err(bad_credential)?;
        let (handle, cred_id) = wa
            .identify_discoverable_authentication(&cred)
            .map_err(|_| not_registered())?;
        let cred_id = data_encoding::BASE64URL_NOPAD.encode(cred_id);
        let mut tx = self.store().begin().await?;
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
        let state = sealed.state;
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
        // Used once: a replayed answer to the same sealed challenge fails.
        let mark = format!("passkey:{}", token::token_hash(ceremony));
        let until = twostep_core::UnixTime::from_secs(sealed.expires_at);
        if !twostep_store::ceremonies::mark_done(&mut tx, &mark, until).await? {
            return Err(expired());
        }
        passkey.update_credential(&result);
        let updated = serde_json::to_string(&passkey).map_err(internal)?;
        keys::used(&mut tx, &row.id, &updated, now).await?;
        self.factor_passed(&mut tx, &user, now, ctx).await?;
        let t = token::new_token(&mut rng());
        self.insert_session(&mut tx, &t, &user.id, sessions::Stage::Full, now, ctx)
            .await?;
        sessions::set_signed_in_key(&mut tx, &token::token_hash(&t), &row.id).await?;
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

impl Factors<'_> {
    /// Options for a password-less sign-in (the page's autofill or its
    /// button), with no account named yet. Nothing is stored: the ceremony
    /// (its challenge and expiry) comes back sealed, bound to `browser` (a
    /// value only this browser holds), so a flood of starts costs nothing.
    pub async fn begin_passkey_signin(&self, browser: &str) -> Result<(String, Value)> {
        let wa = self.webauthn()?;
        let (options, state) = wa
            .start_discoverable_authentication()
            .map_err(Failure::WebAuthn)?;
        let sealed = SealedSignin {
            state,
            expires_at: (self.now() + CEREMONY_TTL).secs(),
        };
        let plain = serde_json::to_vec(&sealed).map_err(internal)?;
        let boxed = self
            .keys()
            .seal(&mut rng(), &plain, &signin_context(browser));
        Ok((
            data_encoding::BASE64URL_NOPAD.encode(&boxed),
            serde_json::to_value(options).map_err(internal)?,
        ))
    }

    /// A full session for the passkey's owner, or why not.
    pub async fn finish_passkey_signin(
        &self,
        ceremony: &str,
        browser: &str,
        credential: Value,
        ctx: &Ctx,
    ) -> Result<(String, crate::Account)> {
        let r = self.passkey_step(ceremony, browser, credential, ctx).await;
        crate::metrics::passkey_step(ctx.channel, &r);
        r.map(|(token, user)| (token, user.into()))
    }
}
