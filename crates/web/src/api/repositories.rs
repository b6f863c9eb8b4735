use crate::routes::{Routes, Surface};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use twostep_auth::Action;
use twostep_auth::RepoView;

use super::ApiJson;
use crate::session::{Api, ApiUser};
use crate::{AppState, Error};

pub fn router() -> Routes {
    Routes::new(Surface::Api)
        .get("/repositories", Action::ReadRepositories, list)
        .post("/repositories", Action::CreateRepository, create)
        .get(
            "/repositories/{owner}/{name}",
            Action::ReadRepositories,
            show,
        )
        .delete(
            "/repositories/{owner}/{name}",
            Action::DeleteRepository,
            remove,
        )
        .get(
            "/repositories/{owner}/{name}/collaborators",
            Action::ReadRepositories,
            collaborators,
        )
        .put(
            "/repositories/{owner}/{name}/collaborators/{username}",
            Action::ManageCollaborators,
            set_collaborator,
        )
        .delete(
            "/repositories/{owner}/{name}/collaborators/{username}",
            Action::ManageCollaborators,
            remove_collaborator,
        )
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RepositoryView {
    pub owner: String,
    pub name: String,
    pub description: String,
    pub private: bool,
    pub created_at: i64,
    /// `admin` (owner), `write` or `read`.
    pub access: String,
    pub clone_ssh: String,
    pub clone_https: String,
}

pub(crate) fn view(state: &AppState, r: RepoView) -> RepositoryView {
    let s = state.auth.settings();
    RepositoryView {
        clone_ssh: format!("{}/{}/{}.git", s.ssh_url, r.owner, r.name),
        clone_https: format!("{}/{}/{}.git", s.public_url, r.owner, r.name),
        owner: r.owner,
        name: r.name,
        description: r.description,
        private: r.private,
        created_at: r.created_at.secs(),
        access: r.access.as_str().into(),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CreateRepository {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "yes")]
    pub private: bool,
}

pub(crate) fn yes() -> bool {
    true
}

/// Repositories you own or collaborate on.
#[utoipa::path(get, path = "/api/v1/repositories", tag = "repositories", responses((status = 200, body = [RepositoryView])))]
async fn list(
    State(state): State<AppState>,
    user: ApiUser,
) -> Result<Json<Vec<RepositoryView>>, Error> {
    let s = user.0;
    let repos = state.auth.repos().list_repos(&s.user.id).await?;
    Ok(Json(repos.into_iter().map(|r| view(&state, r)).collect()))
}

/// Create a repository (private unless `private` is false).
#[utoipa::path(post, path = "/api/v1/repositories", tag = "repositories", request_body = CreateRepository,
    responses((status = 201, body = RepositoryView), (status = 422, body = crate::error::ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    user: ApiUser,
    Api(ctx): Api,
    ApiJson(r): ApiJson<CreateRepository>,
) -> Result<(StatusCode, Json<RepositoryView>), Error> {
    let s = user.0;
    let repo = state
        .auth
        .repos()
        .create_repo(&s.user.id, &r.name, &r.description, r.private, &ctx)
        .await?;
    Ok((StatusCode::CREATED, Json(view(&state, repo))))
}

/// One repository (404 when it does not exist or you cannot read it).
#[utoipa::path(get, path = "/api/v1/repositories/{owner}/{name}", tag = "repositories",
    params(("owner" = String, Path), ("name" = String, Path)), responses((status = 200, body = RepositoryView), (status = 404, body = crate::error::ErrorBody)))]
async fn show(
    State(state): State<AppState>,
    user: ApiUser,
    Path((owner, name)): Path<(String, String)>,
) -> Result<Json<RepositoryView>, Error> {
    let s = user.0;
    Ok(Json(view(
        &state,
        state.auth.repos().repo(&s.user.id, &owner, &name).await?,
    )))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ConfirmQuery {
    /// The repository's name again, to confirm the deletion.
    pub confirm: Option<String>,
}

/// Delete a repository (owner only); `?confirm=NAME` is required.
#[utoipa::path(delete, path = "/api/v1/repositories/{owner}/{name}", tag = "repositories",
    params(("owner" = String, Path), ("name" = String, Path), ConfirmQuery), responses((status = 204), (status = 422, body = crate::error::ErrorBody)))]
async fn remove(
    State(state): State<AppState>,
    user: ApiUser,
    Api(ctx): Api,
    Path((owner, name)): Path<(String, String)>,
    Query(q): Query<ConfirmQuery>,
) -> Result<StatusCode, Error> {
    let s = user.0;
    state
        .auth
        .repos()
        .delete_repo(
            &s.user.id,
            &owner,
            &name,
            q.confirm.as_deref().unwrap_or(""),
            &ctx,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CollaboratorView {
    pub username: String,
    /// `read` or `write`.
    pub access: String,
}

/// Collaborators (owner only).
#[utoipa::path(get, path = "/api/v1/repositories/{owner}/{name}/collaborators", tag = "repositories",
    params(("owner" = String, Path), ("name" = String, Path)), responses((status = 200, body = [CollaboratorView])))]
async fn collaborators(
    State(state): State<AppState>,
    user: ApiUser,
    Path((owner, name)): Path<(String, String)>,
) -> Result<Json<Vec<CollaboratorView>>, Error> {
    let s = user.0;
    let list = state
        .auth
        .repos()
        .collaborators(&s.user.id, &owner, &name)
        .await?;
    Ok(Json(
        list.into_iter()
            .map(|(username, a)| CollaboratorView {
                username,
                access: a.as_str().into(),
            })
            .collect(),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SetAccess {
    /// `read` or `write`.
    pub access: String,
}

/// Add a collaborator or change their access (owner only).
#[utoipa::path(put, path = "/api/v1/repositories/{owner}/{name}/collaborators/{username}", tag = "repositories", request_body = SetAccess,
    params(("owner" = String, Path), ("name" = String, Path), ("username" = String, Path)), responses((status = 204), (status = 422, body = crate::error::ErrorBody)))]
async fn set_collaborator(
    State(state): State<AppState>,
    user: ApiUser,
    Api(ctx): Api,
    Path((owner, name, who)): Path<(String, String, String)>,
    ApiJson(r): ApiJson<SetAccess>,
) -> Result<StatusCode, Error> {
    let s = user.0;
    state
        .auth
        .repos()
        .set_collaborator(
            &s.user.id,
            &owner,
            &name,
            &who,
            Some(twostep_auth::collaborator_access(&r.access)?),
            &ctx,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove a collaborator (owner only).
#[utoipa::path(delete, path = "/api/v1/repositories/{owner}/{name}/collaborators/{username}", tag = "repositories",
    params(("owner" = String, Path), ("name" = String, Path), ("username" = String, Path)), responses((status = 204)))]
async fn remove_collaborator(
    State(state): State<AppState>,
    user: ApiUser,
    Api(ctx): Api,
    Path((owner, name, who)): Path<(String, String, String)>,
) -> Result<StatusCode, Error> {
    let s = user.0;
    state
        .auth
        .repos()
        .set_collaborator(&s.user.id, &owner, &name, &who, None, &ctx)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
