use crate::routes::{Routes, Surface};
use axum::extract::{Path, State};
use axum::Json;
use serde::Serialize;
use twostep_auth::Action;
use twostep_auth::UnixTime;

use super::{ApiJson, CodeRequest, Status};
use crate::session::{Api, ApiUser};
use crate::{AppState, Error};

pub fn router() -> Routes {
    Routes::new(Surface::Api)
        .get("/user/security-keys", Action::ReadAccount, list)
        .post(
            "/user/security-keys/{id}/remove",
            Action::RemoveSecurityKey,
            remove,
        )
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SecurityKeyInfo {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    /// `security_key`, or `passkey` (signs in alone, with no password).
    pub kind: String,
    /// The authenticator's model (AAGUID), when the browser told it (a
    /// workspace that lists allowed models asks for it); empty otherwise.
    pub model: String,
}

/// Your security keys and passkeys (adding one and signing in with one happen in the browser).
#[utoipa::path(get, path = "/api/v1/user/security-keys", tag = "two-step", responses((status = 200, body = [SecurityKeyInfo])))]
async fn list(
    State(state): State<AppState>,
    user: ApiUser,
) -> Result<Json<Vec<SecurityKeyInfo>>, Error> {
    let s = user.0;
    let keys = state.auth.factors().security_keys(&s.user.id).await?;
    Ok(Json(
        keys.into_iter()
            .map(|k| SecurityKeyInfo {
                id: k.id,
                name: k.name,
                created_at: k.created_at.secs(),
                last_used_at: k.last_used_at.map(UnixTime::secs),
                kind: if k.passkey { "passkey" } else { "security_key" }.into(),
                model: k.aaguid,
            })
            .collect(),
    ))
}

/// Remove a security key; needs a current code or recovery code.
#[utoipa::path(post, path = "/api/v1/user/security-keys/{id}/remove", tag = "two-step", request_body = CodeRequest,
    params(("id" = String, Path)), responses((status = 200, body = Status), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
async fn remove(
    State(state): State<AppState>,
    ApiUser(s): ApiUser,
    Api(ctx): Api,
    Path(id): Path<String>,
    ApiJson(r): ApiJson<CodeRequest>,
) -> Result<Json<Status>, Error> {
    state
        .auth
        .factors()
        .remove_security_key(&s, &id, &r.proof(), &ctx)
        .await?;
    Ok(Status::json("removed"))
}
