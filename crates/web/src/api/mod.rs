//! JSON API under /api/v1: each resource module exposes its own `router()`;
//! the OpenAPI document is generated from the handlers' annotations.

mod admin;
pub use admin::UsersQuery;
mod app_passwords;
mod hardware_tokens;
mod oauth_apps;
mod openapi;
pub use openapi::document as openapi_document;
mod password;
mod recovery;
mod repositories;
mod security_keys;
mod security_log;
mod session;
mod sessions;
mod ssh_keys;
mod two_step;
mod users;
mod workspace_ssh;
mod workspaces;

use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::Router;
use serde::de::DeserializeOwned;

use crate::routes::Routes;
use crate::{AppState, Error};

/// Every route of the API, as declared (paths under /api/v1).
pub fn routes() -> Routes {
    users::router()
        .merge(session::router())
        .merge(password::router())
        .merge(ssh_keys::router())
        .merge(two_step::router())
        .merge(security_log::router())
        .merge(sessions::router())
        .merge(repositories::router())
        .merge(app_passwords::router())
        .merge(oauth_apps::router())
        .merge(security_keys::router())
        .merge(recovery::router())
        .merge(admin::router())
        .merge(workspaces::router())
        .merge(workspace_ssh::router())
        .merge(hardware_tokens::router())
        .merge(openapi::router())
}

pub fn router(state: &AppState) -> Router<AppState> {
    routes().into_router(state).fallback(|| async {
        Error::new(StatusCode::NOT_FOUND, "not_found", "No such API endpoint.")
    })
}

/// A JSON object body (see `crate::input`); every refusal is our JSON error.
pub struct ApiJson<T>(pub T);

/// A list answer: each of the service's views in its API shape.
pub(crate) fn listed<T, V: From<T>>(items: Vec<T>) -> axum::Json<Vec<V>> {
    axum::Json(items.into_iter().map(V::from).collect())
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Error;
    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        if !crate::input::is_json(&req) {
            return Err(Error::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send the body as JSON with Content-Type: application/json.",
            ));
        }
        let body = crate::input::body_bytes(req, state).await?;
        crate::input::json_object(&body).map(ApiJson)
    }
}

/// `{"status": "..."}` answers.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Status {
    pub status: String,
}

impl Status {
    pub fn json(s: &str) -> axum::Json<Status> {
        axum::Json(Status {
            status: s.to_string(),
        })
    }
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
pub struct CodeRequest {
    /// A 6-digit code from the authenticator app (spaces allowed) or a
    /// recovery code. May be left out while the session is in sudo mode
    /// (`POST /api/v1/session/sudo`).
    #[serde(default)]
    pub code: String,
}

impl CodeRequest {
    pub fn proof(&self) -> twostep_auth::Proof {
        twostep_auth::Proof::from_fields(Some(&self.code), None)
    }
}

/// A fresh proof for a security change: a code (or recovery code) while
/// two-step verification is on, the account password while it is off. Not
/// needed while the session is in sudo mode (`POST /api/v1/session/sudo`).
#[derive(serde::Deserialize, utoipa::ToSchema, Default)]
pub struct ProofRequest {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
}

impl ProofRequest {
    pub fn proof(&self) -> twostep_auth::Proof {
        twostep_auth::Proof::from_fields(self.code.as_deref(), self.password.as_deref())
    }
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
pub struct TokenRequest {
    /// The `token` parameter of the mailed link.
    pub token: String,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct RecoveryCodes {
    /// Shown once: store them safely.
    pub recovery_codes: Vec<String>,
}
