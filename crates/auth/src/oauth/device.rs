//! The device authorization grant (RFC 8628), for command-line tools: the
//! tool asks for a device code and a short user code, the user enters the
//! user code on `/oauth/device` (fully signed in) and approves, the tool
//! polls the token endpoint until then (slower than the interval: told to
//! slow down), and gets its tokens once.

use twostep_core::app_password::parse_scopes;
use twostep_core::token;
use twostep_store::oauth::{self as store, Device, Grant};

use super::OAuth;
use crate::gate::Action;
use crate::notify::Event;
use crate::oauth::provider::{token_error, Consent, TokenError, TokenRequest, Tokens};
use crate::signin::sudo::Proof;
use crate::{commit, rng, AuthError, AuthService, Ctx, Result, SessionInfo};

pub const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const DEVICE_TTL: i64 = 600;
/// Device requests a network (/24, /64) may make in one ten-minute window.
const PER_NETWORK: i64 = 30;
/// The same for an IPv6 /48 (one customer's usual allocation).
const PER_WIDE_NETWORK: i64 = 60;
/// Device requests one application may receive in one ten-minute window:
/// a bound on the table, which a flood reaches only from some 170 IPv4 /24s
/// or 85 IPv6 /48s (a confidential client's requests need its secret).
const PER_APP: i64 = 5_000;
/// Seconds between polls.
pub const INTERVAL: i64 = 5;
/// Consonants only: no words, no 0/O or 1/I to mistake.
const ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";

/// What the tool shows its user.
pub struct DeviceStart {
    pub device_code: String,
    pub user_code: String,
    pub expires_in: i64,
    pub interval: i64,
}

fn new_user_code() -> String {
    let mut bytes = [0u8; 8];
    rand::RngCore::fill_bytes(&mut rng(), &mut bytes);
    let letters: String = bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect();
    format!("{}-{}", &letters[..4], &letters[4..])
}

/// "bcdf ghjk", "BCDFGHJK" and "BCDF-GHJK" are one code.
pub fn normalise_user_code(typed: &str) -> String {
    let letters: String = typed
        .chars()
        .filter(|c| c.is_ascii_alphabetic())
        .map(|c| c.to_ascii_uppercase())
        .take(8)
        .collect();
    if letters.len() == 8 {
        format!("{}-{}", &letters[..4], &letters[4..])
    } else {
        letters
    }
}

impl AuthService {
    pub(crate) async fn device_tokens(
        &self,
        req: &TokenRequest,
    ) -> std::result::Result<Tokens, TokenError> {
        let now = self.now();
        let hash = token::token_hash(&req.device_code);
        let mut tx = self.store().begin().await?;
        let app = self.client(&mut tx, req).await?;
        let d = store::device(&mut tx, &hash)
            .await?
            .filter(|d| d.app_id == app.id)
            .ok_or_else(|| token_error("invalid_grant", "Unknown device_code."))?;
        if d.expires_at <= now {
            store::delete_device(&mut tx, &hash).await?;
            commit(tx).await?;
            return Err(token_error(
                "expired_token",
                "The device code expired: start again.",
            ));
        }
        if d.denied != 0 {
            store::delete_device(&mut tx, &hash).await?;
            commit(tx).await?;
            return Err(token_error(
                "access_denied",
                "The user did not authorise the application.",
            ));
        }
        let Some(grant_id) = d.grant_id.clone() else {
            let too_soon = d.polled_at.is_some_and(|t| now - t < INTERVAL);
            store::polled(&mut tx, &hash, now).await?;
            commit(tx).await?;
            return Err(if too_soon {
                token_error(
                    "slow_down",
                    format!("Poll at most every {INTERVAL} seconds."),
                )
            } else {
                token_error("authorization_pending", "The user has not answered yet.")
            });
        };
        // Tokens once: the device code is spent.
        if !store::delete_device(&mut tx, &hash).await? {
            return Err(token_error("invalid_grant", "Unknown device_code."));
        }
        let grant = store::grant(&mut tx, &grant_id)
            .await?
            .filter(|g| g.revoked_at.is_none())
            .ok_or_else(|| token_error("invalid_grant", "The authorisation was revoked."))?;
        let tokens = self.new_tokens(&mut tx, &grant, now).await?;
        commit(tx).await?;
        Ok(tokens)
    }
}

impl OAuth<'_> {
    /// `POST /oauth/device_authorization`.
    pub async fn begin_device(
        &self,
        req: &TokenRequest,
        scope: &str,
        ctx: &Ctx,
    ) -> std::result::Result<DeviceStart, TokenError> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let app = self.client(&mut tx, req).await?;
        let scopes =
            parse_scopes(scope.split_whitespace()).map_err(|m| token_error("invalid_scope", m))?;
        if scopes.is_empty() {
            return Err(token_error("invalid_scope", "Ask for at least one scope."));
        }
        // A person types each code: a network asks for a few in ten
        // minutes, an application for a few hundred. Counted atomically, so
        // one flood slows down its own network or its own application only.
        let window =
            twostep_core::UnixTime::from_secs(now.secs() - now.secs().rem_euclid(DEVICE_TTL));
        let net = twostep_core::network::of(&ctx.ip);
        let wide = twostep_core::network::wide(&ctx.ip);
        for (key, cap) in [
            (format!("device:net:{net}"), PER_NETWORK),
            (format!("device:wide:{wide}"), PER_WIDE_NETWORK),
            (format!("device:app:{}", app.id), PER_APP),
        ] {
            if !twostep_store::throttles::take(&mut tx, &key, window, cap).await? {
                commit(tx).await?;
                return Err(token_error(
                    "slow_down",
                    "Too many device requests from here or for this application: try again in ten minutes.",
                ));
            }
        }
        let device_code = token::new_token(&mut rng());
        let user_code = new_user_code();
        let stored = store::insert_device(
            &mut tx,
            &Device {
                device_hash: token::token_hash(&device_code),
                user_code: user_code.clone(),
                app_id: app.id,
                scopes: scopes
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
                expires_at: now + DEVICE_TTL,
                polled_at: None,
                grant_id: None,
                denied: 0,
            },
            now,
        )
        .await?;
        if !stored {
            return Err(token_error("server_error", "Try again."));
        }
        commit(tx).await?;
        Ok(DeviceStart {
            device_code,
            user_code,
            expires_in: DEVICE_TTL,
            interval: INTERVAL,
        })
    }

    /// What the device page asks the signed-in user to approve.
    pub async fn device_consent(&self, session: &SessionInfo, user_code: &str) -> Result<Consent> {
        self.allowed(Action::ViewAccount, session, &Proof::None, None)
            .await?;
        let mut c = self.store().conn().await?;
        let d = store::device_by_user_code(&mut c, &normalise_user_code(user_code), self.now())
            .await?
            .filter(|d| d.grant_id.is_none() && d.denied == 0)
            .ok_or_else(|| {
                AuthError::invalid(
                    "unknown_code",
                    "user_code",
                    "That code is unknown or expired: check it, or start again in the tool.",
                )
            })?;
        let app = store::app(&mut c, &d.app_id)
            .await?
            .ok_or(AuthError::NotFound)?;
        let owner = twostep_store::users::by_id(&mut c, &app.owner_id)
            .await?
            .map(|u| u.username)
            .unwrap_or_default();
        Ok(Consent {
            app_name: app.name,
            owner,
            scopes: parse_scopes(d.scopes.split_whitespace()).unwrap_or_default(),
        })
    }

    /// The signed-in user approves (or not) the device showing `user_code`.
    pub async fn decide_device(
        &self,
        session: &SessionInfo,
        user_code: &str,
        approve: bool,
        proof: &Proof,
        ctx: &Ctx,
    ) -> Result<String> {
        let consent = self.device_consent(session, user_code).await?;
        let now = self.now();
        let mut tx = if approve {
            // A grant is a credential: the same rule as an app password.
            self.begin_action(Action::AuthorizeOAuthApp, session, proof, None, ctx)
                .await?
                .0
        } else {
            self.store().begin().await?
        };
        let d = store::device_by_user_code(&mut tx, &normalise_user_code(user_code), now)
            .await?
            .ok_or(AuthError::LinkInvalid)?;
        let grant_id = if approve {
            let grant = Grant {
                id: token::new_id(&mut rng()),
                app_id: d.app_id.clone(),
                user_id: session.user.id.clone(),
                scopes: d.scopes.clone(),
                created_at: now,
                revoked_at: None,
                expires_at: now + self.default_credential_lifetime(),
            };
            store::insert_grant(&mut tx, &grant).await?;
            Some(grant.id)
        } else {
            None
        };
        if !store::decide_device(&mut tx, &d.device_hash, grant_id.as_deref()).await? {
            return Err(AuthError::LinkInvalid);
        }
        if approve {
            self.audit(
                &mut tx,
                &session.user.id,
                now,
                Event::OAuthAppAuthorized,
                &format!("{} ({}, on a device)", consent.app_name, d.scopes),
                ctx,
            )
            .await?;
        }
        commit(tx).await?;
        if approve {
            self.notify(
                &session.user,
                "An application was authorised",
                &format!(
                    "{} can now act for your account with: {}.",
                    consent.app_name, d.scopes
                ),
                ctx,
            )
            .await;
        }
        Ok(consent.app_name)
    }

    /// `POST /oauth/introspect` (RFC 7662), for the client the token was
    /// issued to: whether it is live, with its scopes and owner.
    pub async fn introspect(
        &self,
        req: &TokenRequest,
        token_value: &str,
    ) -> std::result::Result<Option<(String, String, String, i64)>, TokenError> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let app = self.client(&mut tx, req).await?;
        let Some((grant_id, kind, expires_at, used_at)) =
            store::token(&mut tx, &token::token_hash(token_value)).await?
        else {
            return Ok(None);
        };
        let Some(grant) = store::grant(&mut tx, &grant_id)
            .await?
            .filter(|g| g.app_id == app.id && g.revoked_at.is_none() && g.expires_at > now)
        else {
            return Ok(None);
        };
        if expires_at <= now || used_at.is_some() {
            return Ok(None);
        }
        let user = twostep_store::users::by_id(&mut tx, &grant.user_id)
            .await?
            .map(|u| u.username)
            .unwrap_or_default();
        Ok(Some((grant.scopes, user, kind, expires_at.secs())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_read_as_people_type_them() {
        let code = new_user_code();
        assert_eq!(code.len(), 9);
        assert_eq!(
            normalise_user_code(&code.to_lowercase().replace('-', " ")),
            code
        );
        assert_eq!(normalise_user_code("bcdfghjk"), "BCDF-GHJK");
    }
}
