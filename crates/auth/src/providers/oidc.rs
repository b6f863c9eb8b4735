//! Signing in with an OpenID Connect provider: authorization code with PKCE
//! (S256), `state` and `nonce`, discovery, and the ID token checked by the
//! openidconnect crate (issuer, audience, expiry, signature against the
//! provider's keys, nonce). A trip to the provider is stored (state hashed,
//! PKCE verifier sealed) and bound to the browser that left by a cookie.
//!
//! After the provider, twostep's own second step still applies, unless the
//! provider is trusted for it and its token's `amr` says a second factor
//! was used. A provider's subject is linked to one account: made on first
//! sign-in when the provider may create accounts (a verified email in an
//! allowed domain, never one an account has already), or linked from the
//! account's settings in sudo mode.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use twostep_core::{token, UnixTime, UserId};
use twostep_store::identities::{self, Identity};
use twostep_store::{sessions, users};

use super::Providers;
use crate::gate::{proof_opens_sudo, Action, ProofKind, WayIn};
use crate::notify::Event;
use crate::signin::sudo::Proof;
use crate::Failure;
use crate::{commit, rng, Account, AuthError, AuthService, Ctx, Result, SessionInfo};

/// A provider linked to an account, as its owner sees it.
#[derive(Debug, Clone)]
pub struct LinkedProvider {
    /// The link's id (to unlink it).
    pub id: String,
    /// The provider's id in the configuration.
    pub provider: String,
    /// Its display name (its id if it is no longer configured).
    pub provider_name: String,
    /// Still in the server's configuration.
    pub configured: bool,
    /// The address the provider gave.
    pub email: String,
    pub created_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
}

/// A provider from the config file.
#[derive(Debug, Clone)]
pub struct OidcProvider {
    /// In URLs: `/signin/oidc/ID`.
    pub id: String,
    pub display_name: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// A first sign-in makes an account (a verified email is needed).
    pub create_accounts: bool,
    /// Email domains that may make accounts; empty: any.
    pub allowed_domains: Vec<String>,
    /// The provider's own second factor (its `amr`) stands in for twostep's.
    pub trusted_for_mfa: bool,
}

const LOGIN_TTL: i64 = 10 * 60;
/// Longest `next` a trip carries back (else the home page).
const MAX_NEXT: usize = 512;

/// A trip to a provider, sealed in the browser's cookie (bound to the
/// state by the seal's associated data): nothing is stored until it ends.
#[derive(serde::Serialize, serde::Deserialize)]
struct Trip {
    provider: String,
    nonce: String,
    /// The PKCE verifier.
    verifier: String,
    /// Linking or confirming: the account, and the session that began it
    /// (which must still be alive when the provider answers).
    link_user_id: Option<String>,
    session_hash: Option<String>,
    confirm: bool,
    next: String,
    expires_at: i64,
}

fn trip_context(state_hash: &str) -> Vec<u8> {
    format!("oidc-trip|{state_hash}").into_bytes()
}
/// Discovery documents (and their keys) are fetched again after this, or
/// at once when an ID token's key is not among them (a rotation).
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);
/// `amr` values (RFC 8176) that mean a second factor was used.
const SECOND_FACTOR_AMR: &[&str] = &["mfa", "otp", "hwk", "swk", "sc"];

#[derive(Default)]
pub(crate) struct Discovered(tokio::sync::Mutex<HashMap<String, (CoreProviderMetadata, Instant)>>);

/// What a provider's answer led to.
pub enum OidcOutcome {
    SignedIn {
        token: String,
        user: Account,
        next: String,
    },
    SecondStep {
        token: String,
        user: Account,
        next: String,
    },
    Linked {
        user: Account,
        provider: String,
    },
    Confirmed {
        next: String,
    },
}

/// What a trip to a provider is for.
pub enum OidcTrip<'a> {
    /// Signing in (or up), then on to `next`.
    SignIn,
    /// Linking the provider to this signed-in account (sudo mode).
    Link(&'a SessionInfo),
    /// Confirming it is the owner by signing in at the provider again: the
    /// session's sudo window opens (an account with no password has no other
    /// proof while two-step is off).
    Confirm(&'a SessionInfo),
}

fn refused(msg: impl Into<String>) -> AuthError {
    AuthError::Forbidden(msg.into())
}

fn provider_failed(p: &OidcProvider, e: impl std::fmt::Display) -> AuthError {
    tracing::warn!(provider = %p.id, error = %e, "OpenID Connect provider failed");
    AuthError::Forbidden(format!(
        "{} did not complete the sign-in ({e}). Try again, or sign in with your password.",
        p.display_name
    ))
}

fn http() -> Result<openidconnect::reqwest::Client> {
    openidconnect::reqwest::ClientBuilder::new()
        // Redirects are never followed (SSRF), and a slow provider is cut off.
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| Failure::Oidc(Box::new(e)).into())
}

impl AuthService {
    fn oidc_provider(&self, id: &str) -> Result<&OidcProvider> {
        self.settings()
            .oidc
            .iter()
            .find(|p| p.id == id)
            .ok_or(AuthError::NotFound)
    }

    async fn discovery(&self, p: &OidcProvider, fresh: bool) -> Result<CoreProviderMetadata> {
        let mut cache = self.inner.oidc.0.lock().await;
        if let Some((meta, at)) = cache.get(&p.id) {
            if !fresh && at.elapsed() < DISCOVERY_TTL {
                return Ok(meta.clone());
            }
        }
        let issuer = IssuerUrl::new(p.issuer.clone()).map_err(|e| provider_failed(p, e))?;
        let meta = CoreProviderMetadata::discover_async(issuer, &http()?)
            .await
            .map_err(|e| provider_failed(p, e))?;
        cache.insert(p.id.clone(), (meta.clone(), Instant::now()));
        Ok(meta)
    }

    fn redirect_url(&self, p: &OidcProvider) -> Result<RedirectUrl> {
        RedirectUrl::new(self.link(&format!("/signin/oidc/{}/callback", p.id)))
            .map_err(|e| Failure::Oidc(Box::new(e)).into())
    }

    async fn exchange(
        &self,
        p: &OidcProvider,
        code: &str,
        verifier: String,
        nonce: &Nonce,
    ) -> Result<Claims> {
        let meta = self.discovery(p, false).await?;
        let client = CoreClient::from_provider_metadata(
            meta,
            ClientId::new(p.client_id.clone()),
            Some(ClientSecret::new(p.client_secret.clone())),
        )
        .set_redirect_uri(self.redirect_url(p)?);
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| provider_failed(p, e))?
            .set_pkce_verifier(PkceCodeVerifier::new(verifier))
            .request_async(&http()?)
            .await
            .map_err(|e| provider_failed(p, e))?;
        let id_token = response
            .id_token()
            .ok_or_else(|| provider_failed(p, "no ID token"))?;
        let verified = match id_token.claims(&client.id_token_verifier(), nonce) {
            Ok(c) => Claims::from(c),
            Err(first) => {
                // The keys may have rotated: fetch them again, once.
                let meta = self.discovery(p, true).await?;
                let client = CoreClient::from_provider_metadata(
                    meta,
                    ClientId::new(p.client_id.clone()),
                    Some(ClientSecret::new(p.client_secret.clone())),
                );
                let verifier = client.id_token_verifier();
                id_token
                    .claims(&verifier, nonce)
                    .map(Claims::from)
                    .map_err(|_| {
                        tracing::warn!(provider = %p.id, error = %first, "ID token refused");
                        refused(format!(
                            "{}'s answer could not be verified ({first}). Nobody was signed in.",
                            p.display_name
                        ))
                    })?
            }
        };
        Ok(verified)
    }

    /// The provider signed in again the account linked to this session's
    /// user: the session's sudo window opens.
    async fn confirm_by_provider(
        &self,
        p: &OidcProvider,
        user_id: &UserId,
        session_hash: &str,
        claims: Claims,
        next: &str,
        ctx: &Ctx,
    ) -> Result<OidcOutcome> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let linked = identities::by_subject(&mut tx, &p.id, &claims.subject).await?;
        if linked.as_ref().map(|i| &i.user_id) != Some(user_id) {
            return Err(refused(format!(
                "That {} account is not the one linked to this account: nothing was confirmed.",
                p.display_name
            )));
        }
        let session = sessions::get(
            &mut tx,
            session_hash,
            now,
            now - self.settings().sessions.idle,
        )
        .await?
        .filter(|s| s.stage == sessions::Stage::Full && s.user_id == *user_id)
        .ok_or(AuthError::SignInRequired)?;
        let user = users::by_id(&mut tx, user_id)
            .await?
            .ok_or(AuthError::NotFound)?;
        proof_opens_sudo(
            way_in(&user),
            ProofKind::Provider {
                mfa: second_factor_in(p, &claims),
            },
        )
        .map_err(crate::signin::sudo::weak_proof)?;
        sessions::set_sudo(
            &mut tx,
            &session.token_hash,
            now + crate::signin::sudo::SUDO_TTL,
        )
        .await?;
        self.audit(
            &mut tx,
            user_id,
            now,
            Event::SudoOpened,
            &p.display_name,
            ctx,
        )
        .await?;
        commit(tx).await?;
        Ok(OidcOutcome::Confirmed {
            next: next.to_string(),
        })
    }

    async fn link_identity(
        &self,
        p: &OidcProvider,
        user_id: &UserId,
        session_hash: &str,
        claims: Claims,
        ctx: &Ctx,
    ) -> Result<OidcOutcome> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        // The session that asked is still signed in (a reset since ends it),
        // and the account may still make credentials.
        sessions::get(
            &mut tx,
            session_hash,
            now,
            now - self.settings().sessions.idle,
        )
        .await?
        .filter(|s| s.stage == sessions::Stage::Full && s.user_id == *user_id)
        .ok_or(AuthError::SignInRequired)?;
        let user = users::by_id(&mut tx, user_id)
            .await?
            .ok_or(AuthError::NotFound)?;
        if user.email_confirmed_at.is_none() {
            return Err(AuthError::EmailUnconfirmed);
        }
        if let Some(existing) = identities::by_subject(&mut tx, &p.id, &claims.subject).await? {
            return Err(refused(if existing.user_id == *user_id {
                format!(
                    "This account is linked to that {} account already.",
                    p.display_name
                )
            } else {
                format!(
                    "That {} account is linked to another account.",
                    p.display_name
                )
            }));
        }
        identities::insert(&mut tx, &identity(p, user_id, &claims, now)).await?;
        self.audit(
            &mut tx,
            user_id,
            now,
            Event::IdentityLinked,
            &p.display_name,
            ctx,
        )
        .await?;
        commit(tx).await?;
        let user = self.accounts().user(user_id).await?;
        self.notify(
            &user,
            "A sign-in provider was linked",
            &format!(
                "Your account can now be signed in to with {} ({}).",
                p.display_name, claims.email
            ),
            ctx,
        )
        .await;
        Ok(OidcOutcome::Linked {
            user,
            provider: p.display_name.clone(),
        })
    }

    async fn oidc_sign_in(
        &self,
        p: &OidcProvider,
        claims: Claims,
        next: &str,
        ctx: &Ctx,
    ) -> Result<OidcOutcome> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let user_id = match identities::by_subject(&mut tx, &p.id, &claims.subject).await? {
            Some(i) => {
                identities::used(&mut tx, &i.id, now).await?;
                i.user_id
            }
            None => self.oidc_account(&mut tx, p, &claims, ctx).await?,
        };
        let user = users::by_id(&mut tx, &user_id)
            .await?
            .ok_or(AuthError::NotFound)?;
        let factor_done = second_factor_in(p, &claims);
        let t = token::new_token(&mut rng());
        let second_step = user.two_step_enabled_at.is_some() && !factor_done;
        if second_step {
            self.insert_session(&mut tx, &t, &user.id, sessions::Stage::SecondStep, now, ctx)
                .await?;
        } else {
            self.insert_session(&mut tx, &t, &user.id, sessions::Stage::Full, now, ctx)
                .await?;
            let how = if factor_done {
                format!("{} (with its second factor)", p.display_name)
            } else {
                p.display_name.clone()
            };
            self.audit(&mut tx, &user.id, now, Event::SignedIn, &how, ctx)
                .await?;
        }
        commit(tx).await?;
        let user: Account = user.into();
        let next = next.to_string();
        Ok(if second_step {
            OidcOutcome::SecondStep {
                token: t,
                user,
                next,
            }
        } else {
            OidcOutcome::SignedIn {
                token: t,
                user,
                next,
            }
        })
    }

    /// A new account for a provider's first sign-in, when the provider may
    /// make one: no password, the provider's verified email confirmed.
    async fn oidc_account(
        &self,
        tx: &mut twostep_store::Conn,
        p: &OidcProvider,
        claims: &Claims,
        ctx: &Ctx,
    ) -> Result<UserId> {
        let no_account = || {
            refused(format!(
                "No account here is linked to that {} account. Sign in with your password and link it from your account page.",
                p.display_name
            ))
        };
        if !p.create_accounts {
            return Err(no_account());
        }
        if !claims.email_verified || claims.email.is_empty() {
            return Err(refused(format!(
                "{} did not say your email address is verified, so no account can be made from it.",
                p.display_name
            )));
        }
        let domain = claims
            .email
            .rsplit('@')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        if !p.allowed_domains.is_empty()
            && !p
                .allowed_domains
                .iter()
                .any(|d| d.eq_ignore_ascii_case(&domain))
        {
            return Err(refused(format!(
                "Accounts from {} are made for {} addresses only.",
                p.display_name,
                p.allowed_domains.join(", ")
            )));
        }
        if users::by_email(tx, &claims.email).await?.is_some() {
            // Never linked silently: whoever controls that mailbox at the
            // provider would take the account over.
            return Err(refused(format!(
                "An account with {} exists already. Sign in with its password, then link {} from your account page.",
                claims.email, p.display_name
            )));
        }
        let username = self.free_username(tx, claims).await?;
        let id = UserId::new(token::new_id(&mut rng()));
        let now = self.now();
        users::lock_name(tx, &username).await?;
        users::insert(
            tx,
            users::NewUser {
                id: &id,
                username: &username,
                email: &claims.email,
                password_hash: None,
                now,
            },
        )
        .await?;
        users::confirm_email(tx, &id, now).await?;
        identities::insert(tx, &identity(p, &id, claims, now)).await?;
        self.audit(
            tx,
            &id,
            now,
            Event::AccountCreated,
            &format!("through {}", p.display_name),
            ctx,
        )
        .await?;
        Ok(id)
    }

    /// The provider's preferred username (or the email's local part), made
    /// valid and free with a number when taken.
    async fn free_username(&self, tx: &mut twostep_store::Conn, claims: &Claims) -> Result<String> {
        let wanted = claims
            .preferred_username
            .clone()
            .unwrap_or_else(|| claims.email.split('@').next().unwrap_or("").to_string());
        let base: String = wanted
            .to_ascii_lowercase()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .collect::<String>()
            .trim_matches('-')
            .chars()
            .take(30)
            .collect();
        let base = if base.is_empty() {
            "user".to_string()
        } else {
            base
        };
        for n in 0..1000 {
            let candidate = if n == 0 {
                base.clone()
            } else {
                format!("{base}{n}")
            };
            let Ok(name) = self.valid_name(&candidate) else {
                continue;
            };
            if users::by_username(tx, &name).await?.is_none()
                && twostep_store::workspaces::by_name(tx, &name)
                    .await?
                    .is_none()
            {
                return Ok(name);
            }
        }
        Err(AuthError::Conflict(
            "No free username was found; sign up with a password instead.".into(),
        ))
    }
}

impl<'a> Providers<'a> {
    pub fn oidc_providers(&self) -> &'a [OidcProvider] {
        &self.0.settings().oidc
    }

    /// Where to send the browser, and the cookie value that binds the trip
    /// to it. `link`: a signed-in session in sudo mode linking the provider.
    pub async fn begin_oidc(
        &self,
        provider: &str,
        trip: OidcTrip<'_>,
        next: &str,
        ctx: &Ctx,
    ) -> Result<(String, String)> {
        let p = self.oidc_provider(provider)?;
        let now = self.now();
        let (link, confirm) = match trip {
            OidcTrip::SignIn => (None, None),
            OidcTrip::Link(s) => {
                // Sudo must be open already: a link is a new credential.
                self.allowed(Action::LinkProvider, s, &Proof::None, None)
                    .await?;
                (Some(s), None)
            }
            OidcTrip::Confirm(s) => {
                self.admit(Action::ConfirmIdentity, Some(s), None, true)
                    .await?;
                let user = self.user_row(&s.user.id).await?;
                // Say at once when the provider cannot be the proof here
                // (the answer's amr is checked again when it comes back).
                proof_opens_sudo(
                    way_in(&user),
                    ProofKind::Provider {
                        mfa: p.trusted_for_mfa,
                    },
                )
                .map_err(crate::signin::sudo::weak_proof)?;
                let hash = s.token_hash().ok_or(AuthError::SignInRequired)?;
                if !self
                    .identities(&s.user.id)
                    .await?
                    .iter()
                    .any(|i| i.provider == p.id)
                {
                    return Err(AuthError::NotFound);
                }
                (Some(s), Some(hash.to_string()))
            }
        };
        let meta = self.discovery(p, false).await?;
        let client = CoreClient::from_provider_metadata(
            meta,
            ClientId::new(p.client_id.clone()),
            Some(ClientSecret::new(p.client_secret.clone())),
        )
        .set_redirect_uri(self.redirect_url(p)?);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge);
        if confirm.is_some() {
            // A fresh sign-in there, not the provider's remembered session.
            request = request.add_prompt(openidconnect::core::CoreAuthPrompt::Login);
        }
        let (url, state, nonce) = request.url();
        let state_hash = token::token_hash(state.secret());
        let trip = Trip {
            provider: p.id.clone(),
            nonce: nonce.secret().clone(),
            verifier: verifier.secret().clone(),
            link_user_id: link.map(|s| s.user.id.to_string()),
            session_hash: link.and_then(|s| s.token_hash()).map(str::to_string),
            confirm: confirm.is_some(),
            next: if next.len() <= MAX_NEXT { next } else { "/" }.to_string(),
            expires_at: (now + LOGIN_TTL).secs(),
        };
        let plain = serde_json::to_vec(&trip).map_err(Failure::Json)?;
        let sealed = self
            .keys()
            .seal(&mut rng(), &plain, &trip_context(&state_hash));
        tracing::debug!(provider = %p.id, ip = %ctx.ip, "trip to a provider begun");
        Ok((
            url.to_string(),
            data_encoding::BASE64URL_NOPAD.encode(&sealed),
        ))
    }

    /// The provider sent the browser back with `code` and `state`.
    pub async fn finish_oidc(
        &self,
        provider: &str,
        code: &str,
        state: &str,
        browser: Option<&str>,
        ctx: &Ctx,
    ) -> Result<OidcOutcome> {
        let p = self.oidc_provider(provider)?;
        let now = self.now();
        let expired = || refused("That sign-in expired or was already used. Start it again.");
        let elsewhere = || {
            refused(
                "This sign-in was started in another browser (or for another provider). Start it again here.",
            )
        };
        let state_hash = token::token_hash(state.get(..256).unwrap_or(state));
        // The trip travels sealed in this browser's cookie, bound to the state.
        let trip: Trip = browser
            .and_then(|b| data_encoding::BASE64URL_NOPAD.decode(b.as_bytes()).ok())
            .and_then(|sealed| self.keys().open(&sealed, &trip_context(&state_hash)).ok())
            .and_then(|plain| serde_json::from_slice(&plain).ok())
            .ok_or_else(elsewhere)?;
        if trip.provider != p.id {
            return Err(elsewhere());
        }
        if trip.expires_at <= now.secs() {
            return Err(expired());
        }
        let claims = self
            .exchange(
                p,
                code,
                trip.verifier.clone(),
                &Nonce::new(trip.nonce.clone()),
            )
            .await?;
        // Finished once: only now does the trip leave a mark.
        {
            let mut c = self.store().conn().await?;
            let until = twostep_core::UnixTime::from_secs(trip.expires_at);
            if !twostep_store::ceremonies::mark_done(&mut c, &format!("oidc:{state_hash}"), until)
                .await?
            {
                return Err(expired());
            }
        }
        let link_user = trip.link_user_id.clone().map(UserId::new);
        match (&link_user, &trip.session_hash, trip.confirm) {
            (Some(user_id), Some(session), true) => {
                self.confirm_by_provider(p, user_id, session, claims, &trip.next, ctx)
                    .await
            }
            (Some(user_id), Some(session), false) => {
                self.link_identity(p, user_id, session, claims, ctx).await
            }
            _ => self.oidc_sign_in(p, claims, &trip.next, ctx).await,
        }
    }

    /// The providers linked to an account.
    pub async fn identities(&self, user_id: &UserId) -> Result<Vec<LinkedProvider>> {
        let mut c = self.store().conn().await?;
        let linked = identities::for_user(&mut c, user_id).await?;
        let name_of = |id: &str| {
            self.oidc_providers()
                .iter()
                .find(|p| p.id == id)
                .map_or_else(|| id.to_string(), |p| p.display_name.clone())
        };
        Ok(linked
            .into_iter()
            .map(|i| LinkedProvider {
                provider_name: name_of(&i.provider),
                configured: self.oidc_providers().iter().any(|p| p.id == i.provider),
                id: i.id,
                provider: i.provider,
                email: i.email,
                created_at: i.created_at,
                last_used_at: i.last_used_at,
            })
            .collect())
    }

    /// Unlinks a provider (sudo); never the last way in of an account with
    /// no password.
    pub async fn unlink_identity(
        &self,
        session: &SessionInfo,
        id: &str,
        proof: &crate::signin::sudo::Proof,
        ctx: &Ctx,
    ) -> Result<()> {
        let (mut tx, user) = self
            .begin_action(Action::UnlinkProvider, session, proof, None, ctx)
            .await?;
        let linked = identities::for_user(&mut tx, &user.id).await?;
        if user.password_hash.is_none() && linked.len() <= 1 {
            return Err(AuthError::Conflict(
                "This account has no password: set one (Forgot your password?) before unlinking its last sign-in provider.".into(),
            ));
        }
        let gone = identities::delete(&mut tx, &user.id, id)
            .await?
            .ok_or(AuthError::NotFound)?;
        let name = self
            .oidc_provider(&gone.provider)
            .map(|p| p.display_name.clone())
            .unwrap_or(gone.provider.clone());
        let now = self.now();
        self.audit(&mut tx, &user.id, now, Event::IdentityUnlinked, &name, ctx)
            .await?;
        commit(tx).await?;
        self.notify(
            &user,
            "A sign-in provider was unlinked",
            &format!("{name} can no longer sign in to your account."),
            ctx,
        )
        .await;
        Ok(())
    }
}

fn identity(
    p: &OidcProvider,
    user_id: &UserId,
    claims: &Claims,
    now: twostep_core::UnixTime,
) -> Identity {
    Identity {
        id: token::new_id(&mut rng()),
        user_id: user_id.clone(),
        provider: p.id.clone(),
        subject: claims.subject.clone(),
        email: claims.email.clone(),
        created_at: now,
        last_used_at: Some(now),
    }
}

/// The provider is trusted for MFA and its token says a second factor was used.
fn second_factor_in(p: &OidcProvider, claims: &Claims) -> bool {
    p.trusted_for_mfa
        && claims
            .amr
            .iter()
            .any(|a| SECOND_FACTOR_AMR.contains(&a.as_str()))
}

fn way_in(user: &users::User) -> WayIn {
    WayIn {
        two_step_on: user.two_step_enabled_at.is_some(),
        has_password: user.password_hash.is_some(),
    }
}

/// What twostep reads from a verified ID token.
struct Claims {
    subject: String,
    email: String,
    email_verified: bool,
    preferred_username: Option<String>,
    amr: Vec<String>,
}

impl From<&openidconnect::core::CoreIdTokenClaims> for Claims {
    fn from(c: &openidconnect::core::CoreIdTokenClaims) -> Self {
        Claims {
            subject: c.subject().as_str().to_string(),
            email: c
                .email()
                .map(|e| e.as_str().to_string())
                .unwrap_or_default(),
            email_verified: c.email_verified().unwrap_or(false),
            preferred_username: c.preferred_username().map(|u| u.as_str().to_string()),
            amr: c
                .auth_method_refs()
                .map(|v| v.iter().map(|a| a.as_str().to_string()).collect())
                .unwrap_or_default(),
        }
    }
}

impl Providers<'_> {
    /// Whether signing in at `provider` again may confirm it is this
    /// account's owner (open sudo mode): only where the provider is the
    /// account's way in, and with two-step on only a provider trusted for
    /// MFA (`gate::proof_opens_sudo`).
    pub async fn provider_can_confirm(&self, user_id: &UserId, provider: &str) -> Result<bool> {
        let p = self.oidc_provider(provider)?;
        let user = self.user_row(user_id).await?;
        Ok(proof_opens_sudo(
            way_in(&user),
            ProofKind::Provider {
                mfa: p.trusted_for_mfa,
            },
        )
        .is_ok())
    }

    /// Whether the account has a password (one made through a provider has none).
    pub async fn has_password(&self, user_id: &UserId) -> Result<bool> {
        Ok(self.user_row(user_id).await?.password_hash.is_some())
    }
}
