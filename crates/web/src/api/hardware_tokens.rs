//! POST /api/v1/user/two-step/tokens: claim an imported hardware token.

use crate::routes::{Routes, Surface};
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use twostep_auth::Action;

use super::{ApiJson, Status};
use crate::session::{Api, ApiUser};
use crate::{AppState, Error};

pub fn router() -> Routes {
    Routes::new(Surface::Api).post(
        "/user/two-step/tokens",
        Action::ClaimHardwareToken,
        claim_token,
    )
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ClaimToken {
    /// The serial number printed on the token.
    pub serial: String,
    /// Two consecutive codes from the token, in order.
    pub first_code: String,
    pub second_code: String,
    /// Your fresh proof (a code from an authenticator you have) unless the
    /// session is in sudo mode.
    #[serde(default)]
    pub code: Option<String>,
}

/// Add an imported hardware token to your authenticators: its serial number
/// and two consecutive codes (wrong codes count toward the lock).
#[utoipa::path(post, path = "/api/v1/user/two-step/tokens", tag = "two-step", request_body = ClaimToken,
    responses((status = 200, body = Status), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub(super) async fn claim_token(
    State(state): State<AppState>,
    ApiUser(s): ApiUser,
    Api(ctx): Api,
    ApiJson(r): ApiJson<ClaimToken>,
) -> Result<Json<Status>, Error> {
    let proof = twostep_auth::Proof::from_fields(r.code.as_deref(), None);
    state
        .auth
        .factors()
        .claim_token(&s, &r.serial, &r.first_code, &r.second_code, &proof, &ctx)
        .await?;
    Ok(Status::json("added"))
}
