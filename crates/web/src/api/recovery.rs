//! Self-service recovery over the API: the same steps as the pages, for a
//! session that gave the password and owes the second step.

use crate::routes::{Routes, Surface};
use axum::extract::State;
use axum::Json;
use axum_extra::extract::CookieJar;
use serde::{Deserialize, Serialize};
use twostep_auth::Action;
use twostep_auth::{RecoveryStatus, SessionInfo};

use super::{ApiJson, Status, TokenRequest};
use crate::session::{signed_in, token_of, Api};
use crate::{AppState, Error};

pub fn router() -> Routes {
    Routes::new(Surface::Api)
        .get("/session/recovery", Action::RecoveryFromSignIn, status)
        .post("/session/recovery", Action::RecoveryFromSignIn, mail_start)
        .post(
            "/session/recovery/finish-link",
            Action::RecoveryFromSignIn,
            mail_finish,
        )
        .post(
            "/session/recovery/finish",
            Action::RecoveryFromSignIn,
            finish,
        )
        .post("/recovery/start", Action::RedeemLink, start)
        .post("/recovery/cancel", Action::RedeemLink, cancel)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RecoveryView {
    /// `none`, `waiting` or `ready`.
    pub state: String,
    /// Unix seconds.
    pub ready_at: Option<i64>,
    /// The request carries a second proof (SSH key or a known browser).
    pub with_proof: bool,
}

fn view(st: Option<RecoveryStatus>) -> Json<RecoveryView> {
    Json(match st {
        None => RecoveryView {
            state: "none".into(),
            ready_at: None,
            with_proof: false,
        },
        Some(st) => RecoveryView {
            state: if st.ready { "ready" } else { "waiting" }.into(),
            ready_at: Some(st.ready_at.secs()),
            with_proof: st.with_proof,
        },
    })
}

async fn half_signed_in(state: &AppState, jar: &CookieJar) -> Result<SessionInfo, Error> {
    let token = token_of(state, jar).ok_or_else(Error::sign_in_required)?;
    state
        .auth
        .signin()
        .session(&token)
        .await?
        .filter(|s| !s.complete)
        .ok_or_else(Error::sign_in_required)
}

/// The recovery under way for the account that just gave its password.
#[utoipa::path(get, path = "/api/v1/session/recovery", tag = "recovery",
    responses((status = 200, body = RecoveryView), (status = 401, body = crate::error::ErrorBody)))]
async fn status(
    State(state): State<AppState>,
    jar: CookieJar,
) -> Result<Json<RecoveryView>, Error> {
    let s = half_signed_in(&state, &jar).await?;
    Ok(view(
        state.auth.recovery().recovery_status(&s.user.id).await?,
    ))
}

/// "I lost my authenticator and my recovery codes": mails the link that starts a recovery.
#[utoipa::path(post, path = "/api/v1/session/recovery", tag = "recovery",
    responses((status = 200, body = Status), (status = 401, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
async fn mail_start(
    State(state): State<AppState>,
    Api(ctx): Api,
    jar: CookieJar,
) -> Result<Json<Status>, Error> {
    let s = half_signed_in(&state, &jar).await?;
    state.auth.recovery().mail_recovery_link(&s, &ctx).await?;
    Ok(Status::json("link_mailed"))
}

/// Once the recovery is ready: mails the link that finishes it.
#[utoipa::path(post, path = "/api/v1/session/recovery/finish-link", tag = "recovery",
    responses((status = 200, body = Status), (status = 401, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
async fn mail_finish(
    State(state): State<AppState>,
    Api(ctx): Api,
    jar: CookieJar,
) -> Result<Json<Status>, Error> {
    let s = half_signed_in(&state, &jar).await?;
    state.auth.recovery().mail_finish_link(&s, &ctx).await?;
    Ok(Status::json("link_mailed"))
}

/// Finish with the mailed token: old second factors, app passwords and other
/// sessions go; this session becomes a full one (two-step is off until a new
/// authenticator is set up).
#[utoipa::path(post, path = "/api/v1/session/recovery/finish", tag = "recovery", request_body = TokenRequest,
    responses((status = 200, body = Status), (status = 401, body = crate::error::ErrorBody), (status = 410, body = crate::error::ErrorBody)))]
async fn finish(
    State(state): State<AppState>,
    Api(ctx): Api,
    jar: CookieJar,
    ApiJson(r): ApiJson<TokenRequest>,
) -> Result<(CookieJar, Json<Status>), Error> {
    let s = half_signed_in(&state, &jar).await?;
    let (token, account) = state
        .auth
        .recovery()
        .finish_recovery(&s, &r.token, &ctx)
        .await?;
    Ok((
        signed_in(jar, &state, token, &account.id, &ctx),
        Status::json("recovered"),
    ))
}

/// Start the recovery with the token of the mailed link.
#[utoipa::path(post, path = "/api/v1/recovery/start", tag = "recovery", request_body = TokenRequest,
    responses((status = 200, body = RecoveryView), (status = 410, body = crate::error::ErrorBody)))]
async fn start(
    State(state): State<AppState>,
    Api(ctx): Api,
    ApiJson(r): ApiJson<TokenRequest>,
) -> Result<Json<RecoveryView>, Error> {
    Ok(view(Some(
        state.auth.recovery().start_recovery(&r.token, &ctx).await?,
    )))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CancelRequest {
    /// The `request` and `token` parameters of the cancel link in the mails.
    pub request: String,
    pub token: String,
}

/// Cancel a recovery with the link in any of its mails.
#[utoipa::path(post, path = "/api/v1/recovery/cancel", tag = "recovery", request_body = CancelRequest,
    responses((status = 200, body = Status), (status = 410, body = crate::error::ErrorBody)))]
async fn cancel(
    State(state): State<AppState>,
    Api(ctx): Api,
    ApiJson(r): ApiJson<CancelRequest>,
) -> Result<Json<Status>, Error> {
    state
        .auth
        .recovery()
        .cancel_recovery_by_link(&r.request, &r.token, &ctx)
        .await?;
    Ok(Status::json("cancelled"))
}
