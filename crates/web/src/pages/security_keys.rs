//! Security keys on the pages: JSON endpoints called by static/webauthn.js
//! (CSRF token in the `x-csrf-token` header), plus a plain form to remove one.

use crate::routes::{Routes, Surface};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use serde_json::{json, Value};
use twostep_auth::Action;

use super::FormBody;
use crate::csrf::Csrf;
use crate::session::{token_of, AnySession, SignedIn, Web};
use crate::{AppState, Error};

pub fn routes() -> Routes {
    Routes::new(Surface::Page)
        .post(
            "/account/two-step/security-keys/begin",
            Action::AddSecurityKey,
            register_begin,
        )
        .post(
            "/account/two-step/security-keys/finish",
            Action::AddSecurityKey,
            register_finish,
        )
        .post(
            "/account/two-step/security-keys/{id}/remove",
            Action::RemoveSecurityKey,
            remove,
        )
        .post(
            "/signin/second-step/key/begin",
            Action::SecondStep,
            signin_begin,
        )
        .post(
            "/signin/second-step/key/finish",
            Action::SecondStep,
            signin_finish,
        )
        .post(
            "/signin/second-step/key/failed",
            Action::SecondStep,
            signin_failed,
        )
        .post(
            "/account/confirm-with-key/begin",
            Action::ConfirmIdentity,
            confirm_begin,
        )
        .post(
            "/account/confirm-with-key/finish",
            Action::ConfirmIdentity,
            confirm_finish,
        )
        .post(
            "/account/confirm-with-key/failed",
            Action::ConfirmIdentity,
            confirm_failed,
        )
}

pub(super) fn check_header(csrf: &Csrf, headers: &HeaderMap) -> Result<(), Error> {
    csrf.check(
        headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or(""),
    )
}

/// JSON bodies of these endpoints, bounded by the router's body limit.
#[derive(Deserialize, Default)]
pub(super) struct Body {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub ceremony: String,
    #[serde(default)]
    pub credential: Value,
    /// Where to go after a key sign-in (the second-step page's `next`).
    #[serde(default)]
    pub next: Option<String>,
}

pub(super) fn body(raw: &axum::body::Bytes) -> Result<Body, Error> {
    if raw.is_empty() {
        return Ok(Body::default());
    }
    serde_json::from_slice(raw)
        .map_err(|e| Error::bad_request(format!("The request could not be read: {e}")))
}

pub(super) fn begun((ceremony, options): (String, Value)) -> Json<Value> {
    Json(json!({ "ceremony": ceremony, "options": options }))
}

async fn register_begin(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    headers: HeaderMap,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, Error> {
    check_header(&csrf, &headers)?;
    let b = body(&raw)?;
    Ok(begun(
        state
            .auth
            .factors()
            .begin_key_registration(&s, &b.name)
            .await?,
    ))
}

async fn register_finish(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    headers: HeaderMap,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, Error> {
    check_header(&csrf, &headers)?;
    let b = body(&raw)?;
    let key = state
        .auth
        .factors()
        .finish_key_registration(&s, &b.ceremony, b.credential, &ctx)
        .await?;
    Ok(Json(json!({ "status": "added", "name": key.name })))
}

async fn remove(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    Path(id): Path<String>,
    FormBody(f): FormBody<super::ProofForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    match state
        .auth
        .factors()
        .remove_security_key(&s, &id, &f.proof(), &ctx)
        .await
    {
        Ok(kind) => {
            let notice = match kind {
                twostep_auth::KeyKind::Passkey => "passkey-removed",
                twostep_auth::KeyKind::SecurityKey => "key-removed-security",
            };
            Ok(Redirect::to(&format!("/account/two-step?n={notice}")).into_response())
        }
        Err(e) => super::two_step::status_with_error(&state, &s, &csrf, e).await,
    }
}

fn half_signed_in(
    session: Option<twostep_auth::SessionInfo>,
) -> Result<twostep_auth::SessionInfo, Error> {
    session
        .filter(|s| !s.complete)
        .ok_or_else(Error::sign_in_required)
}

async fn signin_begin(
    State(state): State<AppState>,
    AnySession(s): AnySession,
    csrf: Csrf,
    headers: HeaderMap,
) -> Result<Json<Value>, Error> {
    check_header(&csrf, &headers)?;
    let s = half_signed_in(s)?;
    Ok(begun(
        state.auth.factors().begin_key_authentication(&s).await?,
    ))
}

async fn signin_finish(
    State(state): State<AppState>,
    csrf: Csrf,
    Web(ctx): Web,
    jar: CookieJar,
    headers: HeaderMap,
    raw: axum::body::Bytes,
) -> Result<(CookieJar, Json<Value>), Error> {
    check_header(&csrf, &headers)?;
    let b = body(&raw)?;
    let token = token_of(&state, &jar).ok_or_else(Error::sign_in_required)?;
    let (new_token, user) = state
        .auth
        .factors()
        .finish_key_signin(&token, &b.ceremony, b.credential, &ctx)
        .await?;
    Ok((
        crate::session::signed_in(jar, &state, new_token, &user.id),
        Json(json!({
            "status": "signed_in",
            "redirect": super::safe_next(&state, b.next.as_deref()),
        })),
    ))
}

/// The browser found no registered key: counted, and the refusal told.
async fn not_answered(
    state: &AppState,
    s: &twostep_auth::SessionInfo,
    ctx: &twostep_auth::Ctx,
) -> Result<Response, Error> {
    // The same `{"error": {...}}` shape as every other JSON answer.
    let refusal: Error = state.auth.factors().key_not_answered(s, ctx).await?.into();
    Ok(refusal.into_response())
}

async fn signin_failed(
    State(state): State<AppState>,
    AnySession(s): AnySession,
    csrf: Csrf,
    Web(ctx): Web,
    headers: HeaderMap,
) -> Result<Response, Error> {
    check_header(&csrf, &headers)?;
    let s = half_signed_in(s)?;
    not_answered(&state, &s, &ctx).await
}

async fn confirm_begin(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    headers: HeaderMap,
) -> Result<Json<Value>, Error> {
    check_header(&csrf, &headers)?;
    Ok(begun(
        state.auth.factors().begin_key_authentication(&s).await?,
    ))
}

async fn confirm_finish(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    headers: HeaderMap,
    raw: axum::body::Bytes,
) -> Result<Json<Value>, Error> {
    check_header(&csrf, &headers)?;
    let b = body(&raw)?;
    state
        .auth
        .factors()
        .finish_key_confirmation(&s, &b.ceremony, b.credential, &ctx)
        .await?;
    Ok(Json(json!({ "status": "confirmed" })))
}

async fn confirm_failed(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    headers: HeaderMap,
) -> Result<Response, Error> {
    check_header(&csrf, &headers)?;
    not_answered(&state, &s, &ctx).await
}
