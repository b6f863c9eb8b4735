use crate::routes::{Routes, Surface};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use twostep_auth::Action;

use super::{ApiJson, Status};
use crate::session::Api;
use crate::{AppState, Error};

pub fn router() -> Routes {
    Routes::new(Surface::Api)
        .post("/password/forgot", Action::ForgotPassword, forgot)
        .post("/password/reset", Action::RedeemLink, reset)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ForgotRequest {
    pub email: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ResetRequest {
    pub token: String,
    pub password: String,
}

/// Mail a password reset link (the answer is the same whether the account exists or not).
#[utoipa::path(post, path = "/api/v1/password/forgot", tag = "password", request_body = ForgotRequest,
    responses((status = 202, body = Status)))]
async fn forgot(
    State(state): State<AppState>,
    Api(ctx): Api,
    ApiJson(r): ApiJson<ForgotRequest>,
) -> Result<(StatusCode, Json<Status>), Error> {
    state
        .auth
        .recovery()
        .request_password_reset(&r.email, &ctx)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Status::json("mail_sent_if_account_exists"),
    ))
}

/// Choose a new password with the mailed token. Signs out every session.
#[utoipa::path(post, path = "/api/v1/password/reset", tag = "password", request_body = ResetRequest,
    responses((status = 200, body = Status), (status = 410, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn reset(
    State(state): State<AppState>,
    Api(ctx): Api,
    ApiJson(r): ApiJson<ResetRequest>,
) -> Result<Json<Status>, Error> {
    state
        .auth
        .recovery()
        .reset_password(&r.token, &r.password, &ctx)
        .await?;
    Ok(Status::json("password_changed"))
}
