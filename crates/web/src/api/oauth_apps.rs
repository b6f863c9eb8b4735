//! OAuth 2.0 applications a user registers (for tools and integrations),
//! and the ones they authorised.

use crate::routes::{Routes, Surface};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use twostep_auth::Action;

use super::{listed, ApiJson};
use crate::session::{Api, ApiUser};
use crate::{AppState, Error};

pub fn router() -> Routes {
    Routes::new(Surface::Api)
        .get("/user/oauth-apps", Action::ReadAccount, list)
        .post("/user/oauth-apps", Action::RegisterOAuthApp, register)
        .get("/user/authorized-apps", Action::ReadAccount, authorized)
        .delete("/user/authorized-apps/{id}", Action::RevokeOAuthApp, revoke)
}

impl From<twostep_auth::RegisteredApp> for OAuthAppInfo {
    fn from(a: twostep_auth::RegisteredApp) -> Self {
        OAuthAppInfo {
            client_id: a.client_id,
            name: a.name,
            redirect_uris: a.redirect_uris,
            confidential: a.confidential,
            created_at: a.created_at.secs(),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct OAuthAppInfo {
    pub client_id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    /// Confidential applications authenticate with their secret.
    pub confidential: bool,
    pub created_at: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RegisteredOAuthApp {
    pub client_id: String,
    /// Shown once (confidential applications only).
    pub client_secret: Option<String>,
    pub name: String,
    pub redirect_uris: Vec<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RegisterOAuthApp {
    pub name: String,
    /// https://…, or http:// on a loopback address; matched exactly.
    pub redirect_uris: Vec<String>,
    /// A server-side application that keeps a secret; false for command-line
    /// and native tools (PKCE protects them).
    #[serde(default)]
    pub confidential: bool,
}

/// Your registered OAuth applications (never their secrets).
#[utoipa::path(get, path = "/api/v1/user/oauth-apps", tag = "oauth", responses((status = 200, body = [OAuthAppInfo])))]
async fn list(
    State(state): State<AppState>,
    user: ApiUser,
) -> Result<Json<Vec<OAuthAppInfo>>, Error> {
    Ok(listed(
        state.auth.oauth().oauth_apps(&user.0.user.id).await?,
    ))
}

/// Register an OAuth application (a signed-in session: not with an app password or a token).
#[utoipa::path(post, path = "/api/v1/user/oauth-apps", tag = "oauth", request_body = RegisterOAuthApp,
    responses((status = 201, body = RegisteredOAuthApp), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn register(
    State(state): State<AppState>,
    ApiUser(s): ApiUser,
    Api(ctx): Api,
    ApiJson(r): ApiJson<RegisterOAuthApp>,
) -> Result<(StatusCode, Json<RegisteredOAuthApp>), Error> {
    let app = state
        .auth
        .oauth()
        .register_oauth_app(&s, &r.name, &r.redirect_uris, r.confidential, &ctx)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(RegisteredOAuthApp {
            client_id: app.client_id,
            client_secret: app.client_secret,
            name: app.name,
            redirect_uris: app.redirect_uris,
        }),
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuthorizedApp {
    /// The grant's id (revoke it with DELETE).
    pub id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: i64,
    /// Unix seconds: its tokens are refused from then on.
    pub expires_at: i64,
}

impl From<twostep_auth::AuthorizedApp> for AuthorizedApp {
    fn from(a: twostep_auth::AuthorizedApp) -> Self {
        AuthorizedApp {
            id: a.grant_id,
            name: a.name,
            scopes: a.scopes,
            created_at: a.created_at.secs(),
            expires_at: a.expires_at.secs(),
        }
    }
}

/// Applications you authorised.
#[utoipa::path(get, path = "/api/v1/user/authorized-apps", tag = "oauth", responses((status = 200, body = [AuthorizedApp])))]
async fn authorized(
    State(state): State<AppState>,
    user: ApiUser,
) -> Result<Json<Vec<AuthorizedApp>>, Error> {
    Ok(listed(
        state.auth.oauth().authorized_apps(&user.0.user.id).await?,
    ))
}

/// Take an application's access away: every token of it stops working.
#[utoipa::path(delete, path = "/api/v1/user/authorized-apps/{id}", tag = "oauth", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
async fn revoke(
    State(state): State<AppState>,
    ApiUser(s): ApiUser,
    Api(ctx): Api,
    Path(id): Path<String>,
) -> Result<StatusCode, Error> {
    state
        .auth
        .oauth()
        .revoke_authorized_app(&s, &id, &ctx)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
