//! Cookies and the extractors that turn them into a signed-in user.

use std::net::SocketAddr;
use twostep_auth::UserId;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use twostep_auth::{Channel, Ctx, SessionInfo};

use crate::{AppState, Error};

/// Cookie names; under https the `__Host-` prefix pins them to this host
/// (Secure, Path=/, no Domain), so a sibling subdomain cannot plant them.
pub fn cookie_name(base: &'static str, secure: bool) -> &'static str {
    match (base, secure) {
        ("twostep_session", true) => "__Host-twostep_session",
        ("twostep_device", true) => "__Host-twostep_device",
        ("twostep_csrf", true) => "__Host-twostep_csrf",
        (name, _) => name,
    }
}

pub const SESSION_COOKIE: &str = "twostep_session";
/// Signed after a complete sign-in: this browser keeps its own budget of
/// password attempts, so strangers cannot lock it out.
pub const DEVICE_COOKIE: &str = "twostep_device";

/// The cookies of a completed sign-in: the session, and the device cookie.
pub fn signed_in(jar: CookieJar, state: &AppState, token: String, user_id: &UserId) -> CookieJar {
    let device = Cookie::build((
        cookie_name(DEVICE_COOKIE, state.secure_cookies),
        state.auth.device_cookie(user_id),
    ))
    .path("/")
    .http_only(true)
    .same_site(SameSite::Lax)
    .secure(state.secure_cookies)
    .permanent()
    .build();
    jar.add(session_cookie(token, state.secure_cookies))
        .add(device)
}

fn ctx_of(parts: &Parts, channel: Channel, secure: bool) -> Ctx {
    let jar = CookieJar::from_headers(&parts.headers);
    Ctx {
        channel,
        ip: client_ip(parts),
        device: jar
            .get(cookie_name(DEVICE_COOKIE, secure))
            .map(|c| c.value().to_string()),
    }
}

pub fn session_cookie(value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((cookie_name(SESSION_COOKIE, secure), value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .build()
}

pub fn clear_session_cookie(secure: bool) -> Cookie<'static> {
    let mut c = session_cookie(String::new(), secure);
    c.make_removal();
    c
}

/// The caller's address, for the security log.
pub fn client_ip(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// The caller's address from a whole request.
pub fn client_ip_of(req: &axum::extract::Request) -> String {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Request context (channel and IP) for the auth service.
pub struct Web(pub Ctx);
pub struct Api(pub Ctx);

impl FromRequestParts<AppState> for Web {
    type Rejection = Error;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        Ok(Web(ctx_of(parts, Channel::Web, state.secure_cookies)))
    }
}

impl FromRequestParts<AppState> for Api {
    type Rejection = Error;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        Ok(Api(ctx_of(parts, Channel::Api, state.secure_cookies)))
    }
}

/// Any live session, complete or still owing the second step.
pub struct AnySession(pub Option<SessionInfo>);

impl FromRequestParts<AppState> for AnySession {
    type Rejection = Error;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let jar = CookieJar::from_headers(&parts.headers);
        let Some(token) = jar.get(cookie_name(SESSION_COOKIE, state.secure_cookies)) else {
            return Ok(AnySession(None));
        };
        Ok(AnySession(state.auth.session(token.value()).await?))
    }
}

/// A signed-in user whose sign-in is complete (second step done if on).
pub struct SignedIn(pub SessionInfo);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Error;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        match AnySession::from_request_parts(parts, state).await?.0 {
            Some(s) if s.complete => Ok(SignedIn(s)),
            _ => Err(Error::sign_in_required()),
        }
    }
}

/// Signed in or not (pages that show either).
pub struct MaybeSignedIn(pub Option<SessionInfo>);

impl FromRequestParts<AppState> for MaybeSignedIn {
    type Rejection = Error;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let s = AnySession::from_request_parts(parts, state).await?.0;
        Ok(MaybeSignedIn(s.filter(|s| s.complete)))
    }
}

/// The raw session token, for handlers that must pass it on.
pub fn token_of(state: &AppState, jar: &CookieJar) -> Option<String> {
    jar.get(cookie_name(SESSION_COOKIE, state.secure_cookies))
        .map(|c| c.value().to_string())
}

/// An API caller: the session cookie, HTTP Basic (an app password, or the
/// account password while two-step verification is off), or an OAuth access
/// token (`Authorization: Bearer`, its grant's scopes, like an app password).
pub struct ApiUser(pub SessionInfo);

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = Error;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        if let Some((user, secret)) = crate::parse::basic_from_headers(&parts.headers) {
            let ctx = ctx_of(parts, Channel::Api, state.secure_cookies);
            let principal = state.auth.authenticate_basic(&user, &secret, &ctx).await?;
            return Ok(ApiUser(principal.into_session()));
        }
        if let Some(token) = crate::parse::bearer_from_headers(&parts.headers) {
            let principal = state.auth.authenticate_bearer(&token).await?;
            return Ok(ApiUser(principal.into_session()));
        }
        let SignedIn(s) = SignedIn::from_request_parts(parts, state).await?;
        Ok(ApiUser(s))
    }
}

impl ApiUser {
    /// Refuses an app password that lacks `scope`.
    pub fn need(self, scope: twostep_auth::Scope) -> Result<SessionInfo, Error> {
        twostep_auth::require_scope(self.0.scopes(), scope)?;
        Ok(self.0)
    }
}

/// An API caller allowed to change security settings: never an app password.
pub struct ApiSecure(pub SessionInfo);

impl FromRequestParts<AppState> for ApiSecure {
    type Rejection = Error;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let ApiUser(s) = ApiUser::from_request_parts(parts, state).await?;
        twostep_auth::require_full_session(&s)?;
        Ok(ApiSecure(s))
    }
}
