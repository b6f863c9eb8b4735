//! The JSON calls static/webauthn.js makes for security keys and passkeys:
//! the CSRF token comes in the `x-csrf-token` header (checked here), and
//! the body, bounded by the router's limit, is read once.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::csrf::Csrf;
use crate::{AppState, Error};

/// A call whose header carried this browser's CSRF token.
pub(super) struct KeyHeader(pub Csrf);

impl FromRequestParts<AppState> for KeyHeader {
    type Rejection = Error;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let csrf = Csrf::from_request_parts(parts, state).await?;
        let sent = parts
            .headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        csrf.check(sent)?;
        Ok(KeyHeader(csrf))
    }
}

/// The same with its body.
pub(super) struct KeyCall {
    pub csrf: Csrf,
    pub body: Body,
}

/// What the script sends; every field may be missing.
#[derive(Deserialize, Default)]
pub(super) struct Body {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub ceremony: String,
    #[serde(default)]
    pub credential: Value,
    /// Where to go after a sign-in (the second-step page's `next`).
    #[serde(default)]
    pub next: Option<String>,
}

impl FromRequest<AppState> for KeyCall {
    type Rejection = Response;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let KeyHeader(csrf) = KeyHeader::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let raw = axum::body::Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let body = if raw.is_empty() {
            Body::default()
        } else {
            serde_json::from_slice(&raw).map_err(|e| {
                Error::bad_request(format!("The request could not be read: {e}")).into_response()
            })?
        };
        Ok(KeyCall { csrf, body })
    }
}

/// A ceremony's start, as the script expects it.
pub(super) fn begun((ceremony, options): (String, Value)) -> Json<Value> {
    Json(json!({ "ceremony": ceremony, "options": options }))
}
