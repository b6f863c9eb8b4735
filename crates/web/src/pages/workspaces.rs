//! Workspace pages: the list with a form to create one, and one workspace
//! (members, repositories, the two-step policy for its admins).

use crate::routes::{Routes, Surface};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use twostep_auth::Action;
use twostep_auth::{MembershipView, SessionInfo, WorkspaceView};

use super::{filters, form_errors, refused, render, FormBody, FormError, NoticeQuery, Page};
use crate::csrf::Csrf;
use crate::session::{SignedIn, Web};
use crate::{AppState, Error};

pub fn routes() -> Routes {
    Routes::new(Surface::Page)
        .get("/workspaces", Action::ViewAccount, list)
        .post("/workspaces", Action::CreateWorkspace, create)
        .get("/workspaces/{workspace}", Action::ReadWorkspace, show)
        .post(
            "/workspaces/{workspace}/members",
            Action::ManageWorkspaceMembers,
            act,
        )
        .post(
            "/workspaces/{workspace}/remove-member",
            Action::ManageWorkspaceMembers,
            act,
        )
        .post(
            "/workspaces/{workspace}/repositories",
            Action::CreateWorkspaceRepository,
            act,
        )
        .post(
            "/workspaces/{workspace}/two-step-policy",
            Action::SetWorkspacePolicy,
            act,
        )
        .post(
            "/workspaces/{workspace}/ssh-rules",
            Action::ManageWorkspaceSsh,
            act,
        )
        .post(
            "/workspaces/{workspace}/certificate-authorities",
            Action::ManageWorkspaceSsh,
            act,
        )
        .post(
            "/workspaces/{workspace}/remove-authority",
            Action::ManageWorkspaceSsh,
            act,
        )
}

#[derive(Template)]
#[template(path = "workspaces.html")]
struct ListPage {
    page: Page,
    workspaces: Vec<MembershipView>,
    error: Option<FormError>,
}
form_errors!(ListPage);

async fn list_page(
    state: &AppState,
    s: &SessionInfo,
    csrf: &Csrf,
    n: Option<&str>,
) -> Result<ListPage, Error> {
    Ok(ListPage {
        page: Page::new(state, Some(s), csrf).notice(n),
        workspaces: state.auth.workspaces().workspaces_of(&s.user.id).await?,
        error: None,
    })
}

async fn list(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, Error> {
    render(&list_page(&state, &s, &csrf, q.n.as_deref()).await?)
}

#[derive(Deserialize)]
struct CreateForm {
    csrf: String,
    name: String,
}

async fn create(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    FormBody(f): FormBody<CreateForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    match state
        .auth
        .workspaces()
        .create_workspace(&s, &f.name, &ctx)
        .await
    {
        Ok(m) => Ok(
            Redirect::to(&format!("/workspaces/{}?n=workspace-created", m.name)).into_response(),
        ),
        Err(e) => refused(e, list_page(&state, &s, &csrf, None)).await,
    }
}

#[derive(Template)]
#[template(path = "workspace.html")]
struct WorkspacePage {
    page: Page,
    w: WorkspaceView,
    policy: String,
    /// What it asks: "two-step verification" or "a security key or passkey".
    level: &'static str,
    is_admin: bool,
    can_create: bool,
    ssh_url: String,
    error: Option<FormError>,
}
form_errors!(WorkspacePage);

async fn workspace_page(
    state: &AppState,
    s: &SessionInfo,
    csrf: &Csrf,
    name: &str,
    n: Option<&str>,
) -> Result<WorkspacePage, Error> {
    let w = state.auth.workspaces().workspace(&s.user.id, name).await?;
    Ok(WorkspacePage {
        page: Page::new(state, Some(s), csrf).notice(n),
        policy: filters::policy_text(&w.policy),
        level: twostep_auth::level_text(w.level),
        is_admin: w.role == twostep_auth::WorkspaceRole::Admin,
        can_create: w.role != twostep_auth::WorkspaceRole::Read,
        ssh_url: state.auth.settings().ssh_url.clone(),
        w,
        error: None,
    })
}

async fn show(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Path(name): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, Error> {
    render(&workspace_page(&state, &s, &csrf, &name, q.n.as_deref()).await?)
}

#[derive(Deserialize)]
struct ActionForm {
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    private: Option<String>,
    #[serde(default)]
    require: String,
    #[serde(default)]
    grace_days: String,
    #[serde(default)]
    models: String,
    #[serde(default)]
    keys: String,
    #[serde(default)]
    certificates_required: Option<String>,
    #[serde(default)]
    title: String,
    #[serde(default)]
    public_key: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

/// The workspace page's forms: members, remove-member, repositories, policy.
async fn act(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    Path(name): Path<String>,
    uri: axum::http::Uri,
    FormBody(f): FormBody<ActionForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    let a = &state.auth;
    let proof = twostep_auth::Proof::from_fields(f.code.as_deref(), f.password.as_deref());
    let result = match uri.path().rsplit('/').next().unwrap_or("") {
        "members" => match twostep_auth::workspace_role(&f.role) {
            Ok(role) => a
                .workspaces()
                .set_workspace_member(&s, &name, &f.username, Some(role), &proof, &ctx)
                .await
                .map(|()| "member-set"),
            Err(e) => Err(e),
        },
        "remove-member" => a
            .workspaces()
            .set_workspace_member(&s, &name, &f.username, None, &proof, &ctx)
            .await
            .map(|()| "member-removed"),
        "repositories" => a
            .workspaces()
            .create_workspace_repo(
                &s,
                &name,
                &f.name,
                &f.description,
                f.private.is_some(),
                &ctx,
            )
            .await
            .map(|_| "workspace-repo-created"),
        "two-step-policy" => {
            let level = match f.require.as_str() {
                "on" | "two_step" => Some(twostep_auth::WorkspaceLevel::TwoStep),
                "phishing_resistant" => Some(twostep_auth::WorkspaceLevel::PhishingResistant),
                _ => None,
            };
            let change = grace(&f.grace_days).and_then(|g| {
                Ok(twostep_auth::PolicyChange {
                    level,
                    models: if level.is_some() {
                        twostep_auth::parse_models(&f.models)?
                    } else {
                        Vec::new()
                    },
                    grace_seconds: g,
                })
            });
            match change {
                Ok(change) => a
                    .workspaces()
                    .set_workspace_two_step_policy(&s, &name, &change, &proof, &ctx)
                    .await
                    .map(|_| {
                        if level.is_some() {
                            "policy-on"
                        } else {
                            "policy-off"
                        }
                    }),
                Err(e) => Err(e),
            }
        }
        "ssh-rules" => match twostep_auth::SshKeyRule::parse(f.keys.trim()) {
            Some(keys) => a
                .workspaces()
                .set_workspace_ssh_rules(
                    &s,
                    &name,
                    keys,
                    f.certificates_required.is_some(),
                    &proof,
                    &ctx,
                )
                .await
                .map(|_| "ssh-rules-saved"),
            None => Err(twostep_auth::AuthError::invalid(
                "invalid_ssh_key_rule",
                "keys",
                "Choose which SSH keys are accepted.",
            )),
        },
        "certificate-authorities" => a
            .workspaces()
            .add_certificate_authority(&s, &name, &f.title, &f.public_key, &proof, &ctx)
            .await
            .map(|_| "authority-added"),
        "remove-authority" => a
            .workspaces()
            .remove_certificate_authority(&s, &name, &f.id, &proof, &ctx)
            .await
            .map(|()| "authority-removed"),
        _ => return Err(twostep_auth::AuthError::NotFound.into()),
    };
    match result {
        Ok(notice) => Ok(Redirect::to(&format!(
            "/workspaces/{}?n={notice}",
            percent_encoding::utf8_percent_encode(&name, percent_encoding::NON_ALPHANUMERIC)
        ))
        .into_response()),
        Err(e) => refused(e, workspace_page(&state, &s, &csrf, &name, None)).await,
    }
}

/// Days typed in the policy form (blank: the default week).
fn grace(days: &str) -> Result<Option<i64>, twostep_auth::AuthError> {
    let d = days.trim();
    if d.is_empty() {
        return Ok(None);
    }
    d.parse::<i64>()
        .map(|d| Some(d.saturating_mul(24 * 3600)))
        .map_err(|_| {
            twostep_auth::AuthError::invalid(
                "invalid_grace_period",
                "grace",
                "Type the grace period in whole days (0 to 90).",
            )
        })
}
