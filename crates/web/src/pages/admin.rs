//! Admin pages: users (with filters), one user (reset two-step, unlock,
//! administrator rights), approvals, and the audit log. Every page and form
//! goes through the auth service's admin gate: non-admins get 403, and an
//! admin without a fresh factor is sent to confirm first.

use crate::routes::{Routes, Surface};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use twostep_auth::Action;
use twostep_auth::{
    Actor, AdminUserView, ApprovalView, AuditEntry, Proof, ResetOutcome, SessionInfo,
};

use super::{
    form_errors, form_failure, refused, render, render_status, FormBody, FormError, Page, ProofForm,
};
use crate::api::UsersQuery;
use crate::csrf::Csrf;
use crate::session::{SignedIn, Web};
use crate::{AppState, Error};

pub fn routes() -> Routes {
    Routes::new(Surface::Page)
        .get("/admin", Action::AdminRead, users)
        .get("/admin/users", Action::AdminRead, users)
        .get("/admin/users/{username}", Action::AdminRead, user)
        .post("/admin/users/{username}/reset", Action::AdminAct, act)
        .post("/admin/users/{username}/unlock", Action::AdminAct, act)
        .post(
            "/admin/users/{username}/end-sessions",
            Action::AdminAct,
            act,
        )
        .post("/admin/users/{username}/grant", Action::AdminAct, act)
        .post("/admin/users/{username}/revoke", Action::AdminAct, act)
        .get("/admin/approvals", Action::AdminRead, approvals)
        .post("/admin/approvals/{id}/approve", Action::AdminAct, decide)
        .post("/admin/approvals/{id}/cancel", Action::AdminAct, decide)
        .get("/admin/audit", Action::AdminRead, audit)
}

fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(flatten)]
    users: UsersQuery,
    n: Option<String>,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    page: Page,
    users: Vec<AdminUserView>,
    two_step: String,
    locked: bool,
    recovery_requested: bool,
    q: String,
    next: Option<String>,
}

async fn users(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    Query(q): Query<ListQuery>,
) -> Result<Response, Error> {
    let filter = q.users.filter()?;
    let actor = Actor::Admin {
        session: &s,
        proof: &Proof::None,
    };
    let users = state
        .auth
        .admin()
        .admin_users(&actor, &filter, &ctx)
        .await?;
    let two_step = match filter.two_step {
        None => "",
        Some(true) => "on",
        Some(false) => "off",
    };
    let next = (users.len() as i64 == twostep_auth::ADMIN_PAGE_SIZE)
        .then(|| users.last())
        .flatten()
        .map(|last| {
            format!(
                "/admin?two_step={two_step}&locked={}&recovery_requested={}&q={}&after={}",
                filter.locked,
                filter.recovery_requested,
                encode(&filter.prefix),
                encode(&last.username)
            )
        });
    render(&UsersPage {
        page: Page::new(&state, Some(&s), &csrf).notice(q.n.as_deref()),
        users,
        two_step: two_step.into(),
        locked: filter.locked,
        recovery_requested: filter.recovery_requested,
        q: filter.prefix,
        next,
    })
}

#[derive(Template)]
#[template(path = "admin_user.html")]
struct UserPage {
    page: Page,
    username: String,
    user: Option<AdminUserView>,
    reason: String,
    /// Which form the error belongs to: reset, unlock or rights.
    form: &'static str,
    error: Option<FormError>,
}
form_errors!(UserPage);

impl UserPage {
    fn when(&self, t: &Option<twostep_auth::UnixTime>) -> String {
        t.map(twostep_auth::utc).unwrap_or_default()
    }
    fn at(&self, t: &twostep_auth::UnixTime) -> String {
        twostep_auth::utc(*t)
    }
}

#[derive(Deserialize, Default)]
struct NoticeOnly {
    n: Option<String>,
}

async fn user(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    Path(username): Path<String>,
    Query(q): Query<NoticeOnly>,
) -> Result<Response, Error> {
    let actor = Actor::Admin {
        session: &s,
        proof: &Proof::None,
    };
    let view = state
        .auth
        .admin()
        .admin_user(&actor, &username, &ctx)
        .await?;
    render(&UserPage {
        page: Page::new(&state, Some(&s), &csrf).notice(q.n.as_deref()),
        username: view.username.clone(),
        user: Some(view),
        reason: String::new(),
        form: "",
        error: None,
    })
}

#[derive(Deserialize)]
struct ActionForm {
    csrf: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    code: Option<String>,
}

#[derive(Clone, Copy)]
enum UserAction {
    Reset,
    Unlock,
    Grant,
    Revoke,
    EndSessions,
}

impl UserAction {
    fn parse(s: &str) -> Option<UserAction> {
        Some(match s {
            "reset" => UserAction::Reset,
            "unlock" => UserAction::Unlock,
            "grant" => UserAction::Grant,
            "revoke" => UserAction::Revoke,
            "end-sessions" => UserAction::EndSessions,
            _ => return None,
        })
    }

    /// Which form of the user's page it is.
    fn form(self) -> &'static str {
        match self {
            UserAction::Reset => "reset",
            UserAction::Unlock => "unlock",
            UserAction::Grant | UserAction::Revoke => "rights",
            UserAction::EndSessions => "sessions",
        }
    }
}

/// One of the user page's forms: done, then the notice; refused, then the
/// page again with the error next to its form.
async fn act(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    Path(username): Path<String>,
    uri: axum::http::Uri,
    FormBody(f): FormBody<ActionForm>,
) -> Result<Response, Error> {
    let action = UserAction::parse(last_segment(&uri))
        .ok_or_else(|| Error::from(twostep_auth::AuthError::NotFound))?;
    csrf.check(&f.csrf)?;
    let proof = Proof::from_fields(f.code.as_deref(), None);
    let actor = Actor::Admin {
        session: &s,
        proof: &proof,
    };
    let a = &state.auth;
    let result = match action {
        UserAction::Reset => a
            .admin()
            .admin_reset_two_step(&actor, &username, &f.reason, &ctx)
            .await
            .map(|o| match o {
                ResetOutcome::Reset => "admin-reset",
                ResetOutcome::AwaitingApproval { .. } => "admin-reset-waiting",
            }),
        UserAction::Unlock => a
            .admin()
            .admin_unlock(&actor, &username, &f.reason, &ctx)
            .await
            .map(|()| "admin-unlocked"),
        UserAction::Grant => a
            .admin()
            .grant_admin(&actor, &username, &f.reason, &ctx)
            .await
            .map(|_| "admin-granted"),
        UserAction::Revoke => a
            .admin()
            .revoke_admin(&actor, &username, &f.reason, &ctx)
            .await
            .map(|_| "admin-revoked"),
        UserAction::EndSessions => a
            .admin()
            .admin_end_sessions(&actor, &username, &f.reason, &ctx)
            .await
            .map(|_| "admin-sessions-ended"),
    };
    match result {
        Ok(notice) => Ok(
            Redirect::to(&format!("/admin/users/{}?n={notice}", encode(&username))).into_response(),
        ),
        Err(e) => {
            let (status, error) = form_failure(e)?;
            // The page's details only if the session may still see them.
            let actor = Actor::Admin {
                session: &s,
                proof: &Proof::None,
            };
            let user = state
                .auth
                .admin()
                .admin_user(&actor, &username, &ctx)
                .await
                .ok();
            render_status(
                status,
                &UserPage {
                    page: Page::new(&state, Some(&s), &csrf),
                    username: user
                        .as_ref()
                        .map_or_else(|| username.clone(), |u| u.username.clone()),
                    user,
                    reason: f.reason,
                    form: action.form(),
                    error: Some(error),
                },
            )
        }
    }
}

#[derive(Template)]
#[template(path = "admin_approvals.html")]
struct ApprovalsPage {
    page: Page,
    approvals: Vec<ApprovalView>,
    me: String,
    error: Option<FormError>,
}
form_errors!(ApprovalsPage);

impl ApprovalsPage {
    fn when(&self, a: &ApprovalView) -> String {
        twostep_auth::utc(a.expires_at)
    }
}

async fn approvals_page(
    state: &AppState,
    s: &SessionInfo,
    csrf: &Csrf,
    ctx: &twostep_auth::Ctx,
    notice: Option<&str>,
) -> Result<ApprovalsPage, Error> {
    let actor = Actor::Admin {
        session: s,
        proof: &Proof::None,
    };
    Ok(ApprovalsPage {
        page: Page::new(state, Some(s), csrf).notice(notice),
        approvals: state.auth.admin().admin_approvals(&actor, ctx).await?,
        me: s.user.username.clone(),
        error: None,
    })
}

async fn approvals(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    Query(q): Query<NoticeOnly>,
) -> Result<Response, Error> {
    render(&approvals_page(&state, &s, &csrf, &ctx, q.n.as_deref()).await?)
}

/// Approve or cancel a waiting reset; refused, the list again with the error.
async fn decide(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    Path(id): Path<String>,
    uri: axum::http::Uri,
    FormBody(f): FormBody<ProofForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    let decision = last_segment(&uri);
    let proof = f.proof();
    let actor = Actor::Admin {
        session: &s,
        proof: &proof,
    };
    let result = match decision {
        "approve" => state
            .auth
            .admin()
            .approve_admin_reset(&actor, &id, &ctx)
            .await
            .map(|_| "approval-approved"),
        "cancel" => state
            .auth
            .admin()
            .cancel_admin_reset(&actor, &id, &ctx)
            .await
            .map(|_| "approval-cancelled"),
        _ => return Err(twostep_auth::AuthError::NotFound.into()),
    };
    match result {
        Ok(notice) => Ok(Redirect::to(&format!("/admin/approvals?n={notice}")).into_response()),
        Err(e) => refused(e, approvals_page(&state, &s, &csrf, &ctx, None)).await,
    }
}

#[derive(Template)]
#[template(path = "admin_audit.html")]
struct AuditPage {
    page: Page,
    entries: Vec<AuditEntry>,
    next: Option<String>,
}

impl AuditPage {
    fn when(&self, e: &AuditEntry) -> String {
        twostep_auth::utc(e.at)
    }
}

#[derive(Deserialize)]
struct AuditQuery {
    before: Option<i64>,
}

async fn audit(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    Query(q): Query<AuditQuery>,
) -> Result<Response, Error> {
    let actor = Actor::Admin {
        session: &s,
        proof: &Proof::None,
    };
    let limit = twostep_auth::ADMIN_PAGE_SIZE;
    let entries = state
        .auth
        .admin()
        .admin_audit(&actor, q.before, limit, &ctx)
        .await?;
    let next = (entries.len() as i64 == limit)
        .then(|| entries.last())
        .flatten()
        .map(|e| format!("/admin/audit?before={}", e.seq));
    let status = StatusCode::OK;
    render_status(
        status,
        &AuditPage {
            page: Page::new(&state, Some(&s), &csrf),
            entries,
            next,
        },
    )
}

/// The form a POST was for: the last segment of its address.
fn last_segment(uri: &axum::http::Uri) -> &str {
    uri.path().rsplit('/').next().unwrap_or("")
}
