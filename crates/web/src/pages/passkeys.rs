//! Passkeys on the pages: added on the two-step page next to security keys,
//! and used on the sign-in page (its autofill, or a button) with no username
//! or password. JSON endpoints called by static/webauthn.js, CSRF token in
//! the `x-csrf-token` header.

use crate::routes::{Routes, Surface};
use axum::extract::State;
use axum::Json;
use axum_extra::extract::CookieJar;
use serde_json::{json, Value};
use twostep_auth::{Action, KeyKind};

use super::key_call::{begun, KeyCall, KeyHeader};
use super::security_keys::registration;
use crate::session::Web;
use crate::{AppState, Error};

pub fn routes() -> Routes {
    registration(
        Routes::new(Surface::Page),
        "/account/two-step/passkeys",
        Action::AddPasskey,
        KeyKind::Passkey,
    )
    .post("/signin/passkey/begin", Action::SignIn, signin_begin)
    .post("/signin/passkey/finish", Action::SignIn, signin_finish)
}

async fn signin_begin(
    State(state): State<AppState>,
    KeyHeader(csrf): KeyHeader,
) -> Result<Json<Value>, Error> {
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
    Web(ctx): Web,
    jar: CookieJar,
    call: KeyCall,
) -> Result<(CookieJar, Json<Value>), Error> {
    let b = call.body;
    let (token, user) = state
        .auth
        .factors()
        .finish_passkey_signin(&b.ceremony, &call.csrf.token, b.credential, &ctx)
        .await?;
    Ok((
        crate::session::signed_in(jar, &state, token, &user.id, &ctx),
        Json(json!({
            "status": "signed_in",
            "redirect": super::safe_next(&state, b.next.as_deref()),
        })),
    ))
}
