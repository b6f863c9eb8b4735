//! /api/v1/workspaces: create, list, members, repositories and the
//! "require two-step verification" policy.

use crate::routes::{Routes, Surface};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use twostep_auth::Action;
use twostep_auth::{MembershipView, WorkspaceLevel, WorkspacePolicy, WorkspaceView};

use super::repositories::{view as repo_view, CreateRepository, RepositoryView};
use super::ApiJson;
use crate::session::{Api, ApiUser};
use crate::{AppState, Error};

pub fn router() -> Routes {
    Routes::new(Surface::Api)
        .get("/workspaces", Action::ReadAccount, list)
        .post("/workspaces", Action::CreateWorkspace, create)
        .get("/workspaces/{workspace}", Action::ReadWorkspace, show)
        .post(
            "/workspaces/{workspace}/members",
            Action::ManageWorkspaceMembers,
            set_member,
        )
        .delete(
            "/workspaces/{workspace}/members/{username}",
            Action::ManageWorkspaceMembers,
            remove_member,
        )
        .post(
            "/workspaces/{workspace}/repositories",
            Action::CreateWorkspaceRepository,
            create_repo,
        )
        .post(
            "/workspaces/{workspace}/two-step-policy",
            Action::SetWorkspacePolicy,
            set_policy,
        )
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PolicyInfo {
    /// `off`, `grace` (members who fall short keep access until `from`),
    /// or `enforced` (nobody who falls short reaches the repositories).
    pub state: String,
    /// When it is (or was) enforced from, unix seconds.
    pub from: Option<i64>,
    /// What it asks: `two_step` (any second factor) or `phishing_resistant`
    /// (a security key or passkey, and sessions signed in with one).
    pub level: String,
    /// Authenticator models (AAGUIDs) allowed; empty: any.
    pub allowed_models: Vec<String>,
}

impl PolicyInfo {
    pub fn new(p: WorkspacePolicy, level: WorkspaceLevel, models: Vec<String>) -> Self {
        let (state, from) = match p {
            WorkspacePolicy::Off => ("off", None),
            WorkspacePolicy::Grace { until } => ("grace", Some(until.secs())),
            WorkspacePolicy::Enforced { since } => ("enforced", Some(since.secs())),
        };
        PolicyInfo {
            state: state.into(),
            from,
            level: level.as_str().into(),
            allowed_models: models,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MembershipInfo {
    pub name: String,
    /// Your role: `read`, `write` or `admin`.
    pub role: String,
    pub two_step_policy: PolicyInfo,
}

impl From<MembershipView> for MembershipInfo {
    fn from(m: MembershipView) -> Self {
        MembershipInfo {
            name: m.name,
            role: m.role.as_str().into(),
            two_step_policy: PolicyInfo::new(m.policy, m.level, m.models),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MemberInfo {
    pub username: String,
    pub role: String,
    pub two_step: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct WorkspaceInfo {
    pub name: String,
    pub role: String,
    pub two_step_policy: PolicyInfo,
    pub ssh: super::workspace_ssh::SshRulesInfo,
    pub members: Vec<MemberInfo>,
    pub repositories: Vec<RepositoryView>,
}

impl WorkspaceInfo {
    fn of(w: WorkspaceView, state: &AppState) -> Self {
        WorkspaceInfo {
            name: w.name,
            role: w.role.as_str().into(),
            two_step_policy: PolicyInfo::new(w.policy, w.level, w.models),
            ssh: w.ssh.into(),
            members: w
                .members
                .into_iter()
                .map(|m| MemberInfo {
                    username: m.username,
                    role: m.role.as_str().into(),
                    two_step: m.two_step_on,
                })
                .collect(),
            repositories: w
                .repositories
                .into_iter()
                .map(|r| repo_view(state, r))
                .collect(),
        }
    }
}

/// The workspaces you belong to.
#[utoipa::path(get, path = "/api/v1/workspaces", tag = "workspaces", responses((status = 200, body = [MembershipInfo])))]
async fn list(
    State(state): State<AppState>,
    user: ApiUser,
) -> Result<Json<Vec<MembershipInfo>>, Error> {
    let s = user.0;
    Ok(Json(
        state
            .auth
            .workspaces()
            .workspaces_of(&s.user.id)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CreateWorkspace {
    /// Like a username: it is the first part of repository paths.
    pub name: String,
}

/// Create a workspace; you are its first admin.
#[utoipa::path(post, path = "/api/v1/workspaces", tag = "workspaces", request_body = CreateWorkspace,
    responses((status = 201, body = MembershipInfo), (status = 422, body = crate::error::ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    ApiUser(s): ApiUser,
    Api(ctx): Api,
    ApiJson(r): ApiJson<CreateWorkspace>,
) -> Result<(StatusCode, Json<MembershipInfo>), Error> {
    let m = state
        .auth
        .workspaces()
        .create_workspace(&s, &r.name, &ctx)
        .await?;
    Ok((StatusCode::CREATED, Json(m.into())))
}

/// A workspace you belong to: members, repositories, policy.
#[utoipa::path(get, path = "/api/v1/workspaces/{workspace}", tag = "workspaces", params(("workspace" = String, Path)),
    responses((status = 200, body = WorkspaceInfo), (status = 404, body = crate::error::ErrorBody)))]
async fn show(
    State(state): State<AppState>,
    user: ApiUser,
    Path(workspace): Path<String>,
) -> Result<Json<WorkspaceInfo>, Error> {
    let s = user.0;
    let w = state
        .auth
        .workspaces()
        .workspace(&s.user.id, &workspace)
        .await?;
    Ok(Json(WorkspaceInfo::of(w, &state)))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SetMember {
    pub username: String,
    /// `read`, `write` or `admin`.
    pub role: String,
    /// A fresh proof (a code while two-step is on, else `password`), unless
    /// the session is in sudo mode: members are a security setting.
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
}

/// Add a member or change their role (workspace admins).
#[utoipa::path(post, path = "/api/v1/workspaces/{workspace}/members", tag = "workspaces", params(("workspace" = String, Path)), request_body = SetMember,
    responses((status = 200, body = super::Status), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn set_member(
    State(state): State<AppState>,
    ApiUser(s): ApiUser,
    Api(ctx): Api,
    Path(workspace): Path<String>,
    ApiJson(r): ApiJson<SetMember>,
) -> Result<Json<super::Status>, Error> {
    let role = twostep_auth::workspace_role(&r.role)?;
    state
        .auth
        .workspaces()
        .set_workspace_member(
            &s,
            &workspace,
            &r.username,
            Some(role),
            &twostep_auth::Proof::from_fields(r.code.as_deref(), r.password.as_deref()),
            &ctx,
        )
        .await?;
    Ok(super::Status::json("member_set"))
}

/// Remove a member (workspace admins; never the last admin).
#[utoipa::path(delete, path = "/api/v1/workspaces/{workspace}/members/{username}", tag = "workspaces", params(("workspace" = String, Path), ("username" = String, Path)),
    responses((status = 204), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
async fn remove_member(
    State(state): State<AppState>,
    ApiUser(s): ApiUser,
    Api(ctx): Api,
    Path((workspace, username)): Path<(String, String)>,
) -> Result<StatusCode, Error> {
    state
        .auth
        .workspaces()
        .set_workspace_member(
            &s,
            &workspace,
            &username,
            None,
            &twostep_auth::Proof::None,
            &ctx,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Create a repository in the workspace (members with write or admin).
#[utoipa::path(post, path = "/api/v1/workspaces/{workspace}/repositories", tag = "workspaces", params(("workspace" = String, Path)), request_body = CreateRepository,
    responses((status = 201, body = RepositoryView), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn create_repo(
    State(state): State<AppState>,
    ApiUser(s): ApiUser,
    Api(ctx): Api,
    Path(workspace): Path<String>,
    ApiJson(r): ApiJson<CreateRepository>,
) -> Result<(StatusCode, Json<RepositoryView>), Error> {
    let view = state
        .auth
        .workspaces()
        .create_workspace_repo(&s, &workspace, &r.name, &r.description, r.private, &ctx)
        .await?;
    Ok((StatusCode::CREATED, Json(repo_view(&state, view))))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SetPolicy {
    /// Require two-step verification of everyone who uses the repositories.
    pub require_two_step: bool,
    /// `two_step` (default: any second factor) or `phishing_resistant`
    /// (a security key or passkey; web and API sessions signed in with one).
    #[serde(default)]
    pub level: Option<String>,
    /// With `phishing_resistant`: the authenticator models (AAGUIDs) allowed.
    /// Registrations then ask the browser for a direct attestation.
    #[serde(default)]
    pub allowed_models: Vec<String>,
    /// Seconds members without two-step keep access [default: 7 days; at most 90 days].
    #[serde(default)]
    pub grace_seconds: Option<i64>,
    /// Your fresh proof unless the session is in sudo mode.
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
}

/// Turn "require two-step verification" on (members without it are mailed
/// and keep access for the grace period) or off (workspace admins, sudo).
#[utoipa::path(post, path = "/api/v1/workspaces/{workspace}/two-step-policy", tag = "workspaces", params(("workspace" = String, Path)), request_body = SetPolicy,
    responses((status = 200, body = PolicyInfo), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn set_policy(
    State(state): State<AppState>,
    ApiUser(s): ApiUser,
    Api(ctx): Api,
    Path(workspace): Path<String>,
    ApiJson(r): ApiJson<SetPolicy>,
) -> Result<Json<PolicyInfo>, Error> {
    let proof = twostep_auth::Proof::from_fields(r.code.as_deref(), r.password.as_deref());
    let level = match r.level.as_deref() {
        None => WorkspaceLevel::TwoStep,
        Some(l) => WorkspaceLevel::parse(l).ok_or_else(|| {
            Error::from(twostep_auth::AuthError::invalid(
                "invalid_level",
                "level",
                "The level is two_step or phishing_resistant.",
            ))
        })?,
    };
    let models = twostep_auth::parse_models(&r.allowed_models.join(" "))?;
    let change = twostep_auth::PolicyChange {
        level: r.require_two_step.then_some(level),
        models: if r.require_two_step {
            models
        } else {
            Vec::new()
        },
        grace_seconds: r.grace_seconds,
    };
    let p = state
        .auth
        .workspaces()
        .set_workspace_two_step_policy(&s, &workspace, &change, &proof, &ctx)
        .await?;
    Ok(Json(PolicyInfo::new(p, level, change.models)))
}
