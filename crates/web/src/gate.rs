//! The HTTP side of the gate: before a route's handler reads anything, find
//! out who is calling (cookie, HTTP Basic, Bearer), which workspace the
//! address names, and whether a fresh proof came with the request; then ask
//! the auth service whether the route's action is allowed. Handlers get the
//! caller from `Admitted` and never check rights by hand.

use axum::body::Body;
use axum::extract::{FromRequestParts, RawPathParams, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use twostep_auth::{Action, AuthError, CallerKind, Channel, SessionInfo};

use crate::routes::Surface;
use crate::session::{cookie_name, ctx_of, SESSION_COOKIE};
use crate::{AppState, Error};

/// What the gate of one route knows.
#[derive(Clone)]
pub struct Gate {
    pub state: AppState,
    pub action: Action,
    pub surface: Surface,
}

/// The caller the gate let through (`None`: anonymous), for the handler.
#[derive(Clone)]
pub struct Admitted {
    pub caller: Option<SessionInfo>,
}

/// Set on every answer the gate refused, naming the rule (for logs and the
/// route matrix test; the body says it to people).
pub const REFUSED_HEADER: &str = "x-twostep-refused";

/// The rule that refused, carried to the page layer so it keeps the header.
#[derive(Clone, Copy)]
pub struct RefusedBy(pub &'static str);

fn channel(surface: Surface) -> Channel {
    match surface {
        Surface::Page => Channel::Web,
        Surface::Api => Channel::Api,
        Surface::Git => Channel::GitHttp,
    }
}

pub async fn gate(State(g): State<Gate>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let caller = match who(&g, &parts).await {
        Ok(c) => c,
        Err((rule, e)) => return refusal(&g, rule, e),
    };
    let workspace = named_workspace(&mut parts).await;
    let need = g.action.need();
    let (body, offered) = match &caller {
        Some(s) if need.fresh && !g.state.auth.signin().in_sudo(s) => {
            match peek_proof(&parts, body).await {
                Ok(x) => x,
                Err(e) => return e.into_response(),
            }
        }
        _ => (body, false),
    };
    match g
        .state
        .auth
        .admit(g.action, caller.as_ref(), workspace.as_deref(), offered)
        .await
    {
        Ok(()) => {
            parts.extensions.insert(Admitted { caller });
            next.run(Request::from_parts(parts, body)).await
        }
        Err(r) => refusal(&g, r.rule, r.error),
    }
}

/// The caller, by the credentials the action can take: an action open to
/// anyone reads only the session cookie (HTTP Basic there belongs to an
/// OAuth client, and costs no password hash); others take HTTP Basic or a
/// Bearer token first, refusing a kind the action never accepts before
/// checking it.
async fn who(g: &Gate, parts: &Parts) -> Result<Option<SessionInfo>, (&'static str, AuthError)> {
    let auth = &g.state.auth;
    let callers = g.action.need().callers;
    if !callers.contains(CallerKind::Anonymous) {
        let ctx = ctx_of(parts, channel(g.surface), g.state.secure_cookies);
        if let Some((user, secret)) = crate::parse::basic_from_headers(&parts.headers) {
            let kind = twostep_auth::basic_kind(&user, &secret);
            auth.accepts(g.action, kind)
                .map_err(|r| (r.rule, r.error))?;
            return auth
                .repos()
                .authenticate_basic(&user, &secret, &ctx)
                .await
                .map(Some)
                .map_err(|e| ("credentials", e));
        }
        if let Some(token) = crate::parse::bearer_from_headers(&parts.headers) {
            auth.accepts(g.action, CallerKind::OAuthToken)
                .map_err(|r| (r.rule, r.error))?;
            return auth
                .oauth()
                .authenticate_bearer(&token)
                .await
                .map(Some)
                .map_err(|e| ("credentials", e));
        }
    }
    let sessions = callers.contains(CallerKind::Anonymous)
        || callers.contains(CallerKind::Session)
        || callers.contains(CallerKind::HalfSignedIn);
    if !sessions {
        return Ok(None);
    }
    let jar = CookieJar::from_headers(&parts.headers);
    match jar.get(cookie_name(SESSION_COOKIE, g.state.secure_cookies)) {
        Some(c) => auth
            .signin()
            .session(c.value())
            .await
            .map_err(|e| ("credentials", e)),
        None => Ok(None),
    }
}

/// The workspace (or repository owner) the address names, if any.
async fn named_workspace(parts: &mut Parts) -> Option<String> {
    let params = RawPathParams::from_request_parts(parts, &()).await.ok()?;
    params
        .iter()
        .find(|(k, _)| *k == "workspace" || *k == "owner")
        .map(|(_, v)| v.to_string())
}

/// Reads the body (bounded) to see whether it carries a non-blank `code`,
/// `password` or `current_password` (a password change's), the proof the
/// action will verify; gives the body back.
async fn peek_proof(parts: &Parts, body: Body) -> Result<(Body, bool), Error> {
    let bytes = axum::body::to_bytes(body, crate::MAX_BODY)
        .await
        .map_err(|_| {
            Error::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "The request is too large: 64 KiB at most.",
            )
        })?;
    let json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    let is_proof = |k: &str, v: &str| {
        matches!(k, "code" | "password" | "current_password") && !v.trim().is_empty()
    };
    let offered = if json {
        serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v.as_object().cloned())
            .is_some_and(|o| {
                o.iter()
                    .any(|(k, v)| v.as_str().is_some_and(|v| is_proof(k, v)))
            })
    } else {
        form_urlencoded::parse(&bytes).any(|(k, v)| is_proof(&k, &v))
    };
    Ok((Body::from(bytes), offered))
}

/// A refusal in the shape of the route's surface, marked with the rule.
fn refusal(g: &Gate, rule: &'static str, e: AuthError) -> Response {
    let mut res = match g.surface {
        Surface::Git => git_refusal(e),
        Surface::Page | Surface::Api => Error::from(e).into_response(),
    };
    mark(&mut res, rule);
    res
}

/// Marks an answer as the gate's refusal by `rule`.
pub fn mark(res: &mut Response, rule: &'static str) {
    if let Ok(v) = HeaderValue::from_str(rule) {
        res.headers_mut().insert(REFUSED_HEADER, v);
    }
    res.extensions_mut().insert(RefusedBy(rule));
}

/// Git shows text; a missing or wrong credential asks for Basic again.
fn git_refusal(e: AuthError) -> Response {
    let challenge = |msg: String| {
        let mut r = crate::git_http::text(StatusCode::UNAUTHORIZED, msg);
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"twostep\", charset=\"UTF-8\""),
        );
        r
    };
    match e {
        AuthError::SignInRequired => {
            challenge("Authentication required: use your username and an app password.".into())
        }
        AuthError::BadCredentials => challenge("Invalid username or app password.".into()),
        e @ (AuthError::AppPasswordRequired { .. } | AuthError::CredentialExpired { .. }) => {
            challenge(e.to_string())
        }
        e => {
            let e = Error::from(e);
            crate::git_http::text(e.status, e.message)
        }
    }
}

/// The gate's verdict for a handler; a route that was never declared has
/// none, which is our bug, not the caller's.
pub fn admitted(parts: &Parts) -> Result<&Admitted, Error> {
    parts.extensions.get::<Admitted>().ok_or_else(|| {
        tracing::error!(path = %parts.uri.path(), "a route without a declared action");
        Error::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Something went wrong on our side.",
        )
    })
}
