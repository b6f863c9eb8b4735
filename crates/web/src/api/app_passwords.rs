use crate::routes::{Routes, Surface};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use twostep_auth::Action;
use twostep_auth::AppPasswordView;
use twostep_auth::UnixTime;

use super::{listed, ApiJson};
use crate::session::{Api, ApiUser};
use crate::{AppState, Error};

pub fn router() -> Routes {
    Routes::new(Surface::Api)
        .get("/user/app-passwords", Action::ReadAccount, list)
        .post("/user/app-passwords", Action::CreateAppPassword, create)
        .delete(
            "/user/app-passwords/{id}",
            Action::RevokeAppPassword,
            revoke,
        )
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AppPasswordInfo {
    pub id: String,
    pub label: String,
    /// `repository:read`, `repository:write`, `account:read`.
    pub scopes: Vec<String>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    /// Unix seconds; refused from then on.
    pub expires_at: i64,
}

impl From<AppPasswordView> for AppPasswordInfo {
    fn from(a: AppPasswordView) -> Self {
        AppPasswordInfo {
            id: a.id,
            label: a.label,
            scopes: a.scopes.iter().map(|s| s.as_str().to_string()).collect(),
            created_at: a.created_at.secs(),
            last_used_at: a.last_used_at.map(UnixTime::secs),
            expires_at: a.expires_at.secs(),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedAppPassword {
    /// Shown once: use it as the password for Git over HTTPS and the API.
    pub password: String,
    pub app_password: AppPasswordInfo,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CreateAppPassword {
    pub label: String,
    pub scopes: Vec<String>,
    /// Days until it expires: 1 to the server's maximum (a year by default).
    /// Omitted: a year, or the maximum if shorter.
    #[serde(default)]
    pub expires_in_days: Option<i64>,
    /// Proof of identity unless the session is in sudo mode.
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
}

/// Your app passwords (never the secrets).
#[utoipa::path(get, path = "/api/v1/user/app-passwords", tag = "app-passwords", responses((status = 200, body = [AppPasswordInfo])))]
async fn list(
    State(state): State<AppState>,
    user: ApiUser,
) -> Result<Json<Vec<AppPasswordInfo>>, Error> {
    Ok(listed(
        state
            .auth
            .credentials()
            .app_passwords(&user.0.user.id)
            .await?,
    ))
}

/// Create an app password (not with an app password).
#[utoipa::path(post, path = "/api/v1/user/app-passwords", tag = "app-passwords", request_body = CreateAppPassword,
    responses((status = 201, body = CreatedAppPassword), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    ApiUser(s): ApiUser,
    Api(ctx): Api,
    ApiJson(r): ApiJson<CreateAppPassword>,
) -> Result<(StatusCode, Json<CreatedAppPassword>), Error> {
    let scopes: Vec<&str> = r.scopes.iter().map(String::as_str).collect();
    let proof = twostep_auth::Proof::from_fields(r.code.as_deref(), r.password.as_deref());
    let (password, view) = state
        .auth
        .credentials()
        .create_app_password(&s, &r.label, &scopes, r.expires_in_days, &proof, &ctx)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedAppPassword {
            password,
            app_password: view.into(),
        }),
    ))
}

/// Revoke an app password at once.
#[utoipa::path(delete, path = "/api/v1/user/app-passwords/{id}", tag = "app-passwords", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
async fn revoke(
    State(state): State<AppState>,
    ApiUser(s): ApiUser,
    Api(ctx): Api,
    Path(id): Path<String>,
) -> Result<StatusCode, Error> {
    state
        .auth
        .credentials()
        .revoke_app_password(&s, &id, &twostep_auth::Proof::None, &ctx)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
