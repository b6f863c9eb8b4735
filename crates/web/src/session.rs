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
/// A browser that held no device cookie of the account is mailed about.
pub fn signed_in(
    jar: CookieJar,
    state: &AppState,
    token: String,
    user_id: &UserId,
    ctx: &Ctx,
) -> CookieJar {
    state.auth.signin().completed_in_browser(user_id, ctx);
    let device = Cookie::build((
        cookie_name(DEVICE_COOKIE, state.secure_cookies),
        state.auth.signin().device_cookie(user_id),
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

pub(crate) fn ctx_of(parts: &Parts, channel: Channel, secure: bool) -> Ctx {
    let jar = CookieJar::from_headers(&parts.headers);
    Ctx {
        channel,
        ip: client_ip(parts),
        device: jar
            .get(cookie_name(DEVICE_COOKIE, secure))
            .map(|c| c.value().to_string()),
        user_agent: parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| {
                let end = ua.floor_char_boundary(twostep_auth::MAX_USER_AGENT);
                ua[..end].to_string()
            }),
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
    if let Some(c) = parts.extensions.get::<crate::server::ClientAddr>() {
        return c.0.to_string();
    }
    parts
        .extensions
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

/// Any live session, complete or still owing the second step (as the gate
/// found it).
pub struct AnySession(pub Option<SessionInfo>);

fn gated(parts: &Parts) -> Result<Option<SessionInfo>, Error> {
    Ok(crate::gate::admitted(parts)?.caller.clone())
}

impl FromRequestParts<AppState> for AnySession {
    type Rejection = Error;
    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Error> {
        let s = gated(parts)?.filter(|s| s.token_hash().is_some());
        Ok(AnySession(s))
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

/// An API caller as the gate admitted it: the session cookie, HTTP Basic
/// (an app password, or the account password while two-step verification is
/// off), or an OAuth access token (`Authorization: Bearer`). The route's
/// action decides which of them get this far, and with which scope.
pub struct ApiUser(pub SessionInfo);

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = Error;
    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Error> {
        gated(parts)?
            .filter(|s| s.complete)
            .map(ApiUser)
            .ok_or_else(Error::sign_in_required)
    }
}
