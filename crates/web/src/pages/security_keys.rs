//! Security keys on the pages: JSON endpoints called by static/webauthn.js
//! (CSRF token in the `x-csrf-token` header), plus a plain form to remove one.

use crate::routes::{Routes, Surface};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use axum_extra::extract::CookieJar;
use serde_json::{json, Value};
use twostep_auth::{Action, KeyKind};

use super::key_call::{begun, KeyCall, KeyHeader};
use super::FormBody;
use crate::csrf::Csrf;
use crate::session::{token_of, AnySession, SignedIn, Web};
use crate::{AppState, Error};

pub fn routes() -> Routes {
    registration(
        Routes::new(Surface::Page),
        "/account/two-step/security-keys",
        Action::AddSecurityKey,
        KeyKind::SecurityKey,
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

/// `BASE/begin` and `BASE/finish`: registering a key of this kind.
pub(super) fn registration(routes: Routes, base: &str, action: Action, kind: KeyKind) -> Routes {
    routes
        .post(
            &format!("{base}/begin"),
            action,
            move |state: State<AppState>, s: SignedIn, call: KeyCall| {
                register_begin(state, s, call, kind)
            },
        )
        .post(
            &format!("{base}/finish"),
            action,
            move |state: State<AppState>, s: SignedIn, ctx: Web, call: KeyCall| {
                register_finish(state, s, ctx, call, kind)
            },
        )
}

/// A security key or passkey's registration starts: the browser gets the
/// ceremony's options.
async fn register_begin(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    call: KeyCall,
    kind: KeyKind,
) -> Result<Json<Value>, Error> {
    Ok(begun(
        state
            .auth
            .factors()
            .begin_registration(&s, &call.body.name, kind)
            .await?,
    ))
}

/// …and ends with the browser's answer.
async fn register_finish(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    Web(ctx): Web,
    call: KeyCall,
    kind: KeyKind,
) -> Result<Json<Value>, Error> {
    let b = call.body;
    let r = state
        .auth
        .factors()
        .finish_registration(&s, &b.ceremony, b.credential, kind, &ctx)
        .await?;
    Ok(Json(match r.confirmation_sent_to {
        None => json!({ "status": "added", "name": r.key.name }),
        Some(email) => {
            json!({ "status": "confirmation_mail_sent", "name": r.key.name, "email": email })
        }
    }))
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
    _: KeyHeader,
) -> Result<Json<Value>, Error> {
    let s = half_signed_in(s)?;
    Ok(begun(
        state.auth.factors().begin_key_authentication(&s).await?,
    ))
}

async fn signin_finish(
    State(state): State<AppState>,
    Web(ctx): Web,
    jar: CookieJar,
    call: KeyCall,
) -> Result<(CookieJar, Json<Value>), Error> {
    let b = call.body;
    let token = token_of(&state, &jar).ok_or_else(Error::sign_in_required)?;
    let (new_token, user) = state
        .auth
        .factors()
        .finish_key_signin(&token, &b.ceremony, b.credential, &ctx)
        .await?;
    Ok((
        crate::session::signed_in(jar, &state, new_token, &user.id, &ctx),
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
    Web(ctx): Web,
    _: KeyHeader,
) -> Result<Response, Error> {
    let s = half_signed_in(s)?;
    not_answered(&state, &s, &ctx).await
}

async fn confirm_begin(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    _: KeyHeader,
) -> Result<Json<Value>, Error> {
    Ok(begun(
        state.auth.factors().begin_key_authentication(&s).await?,
    ))
}

async fn confirm_finish(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    Web(ctx): Web,
    call: KeyCall,
) -> Result<Json<Value>, Error> {
    let b = call.body;
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
    Web(ctx): Web,
    _: KeyHeader,
) -> Result<Response, Error> {
    not_answered(&state, &s, &ctx).await
}
