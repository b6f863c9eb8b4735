//! Passkeys on the pages: added on the two-step page next to security keys,
//! and used on the sign-in page (its autofill, or a button) with no username
//! or password. JSON endpoints called by static/webauthn.js, CSRF token in
//! the `x-csrf-token` header.

use crate::routes::{Routes, Surface};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use axum_extra::extract::CookieJar;
use serde_json::{json, Value};
use twostep_auth::Action;

use super::security_keys::{begun, body, check_header};
use crate::csrf::Csrf;
use crate::session::{SignedIn, Web};
use crate::{AppState, Error};

pub fn routes() -> Routes {
    Routes::new(Surface::Page)
        .post(
            "/account/two-step/passkeys/begin",
            Action::AddPasskey,
            register_begin,
        )
        .post(
            "/account/two-step/passkeys/finish",
            Action::AddPasskey,
            register_finish,
        )
        .post("/signin/passkey/begin", Action::SignIn, signin_begin)
        .post("/signin/passkey/finish", Action::SignIn, signin_finish)
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
            .begin_passkey_registration(&s, &b.name)
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
        .finish_passkey_registration(&s, &b.ceremony, b.credential, &ctx)
        .await?;
    Ok(Json(json!({ "status": "added", "name": key.name })))
}

async fn signin_begin(
    State(state): State<AppState>,
    csrf: Csrf,
    headers: HeaderMap,
) -> Result<Json<Value>, Error> {
    check_header(&csrf, &headers)?;
    Ok(begun(
        state
            .auth
            .factors()
            .begin_passkey_signin(&csrf.token)
            .await?,
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
    let (token, user) = state
        .auth
        .factors()
        .finish_passkey_signin(&b.ceremony, &csrf.token, b.credential, &ctx)
        .await?;
    Ok((
        crate::session::signed_in(jar, &state, token, &user.id),
        Json(json!({
            "status": "signed_in",
            "redirect": super::safe_next(&state, b.next.as_deref()),
        })),
    ))
}
