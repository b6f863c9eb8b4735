//! /api/v1/admin: the users list, resets, unlocks, administrator rights,
//! approvals and the audit log. Administrators only, with two-step on and a
//! fresh factor: `code` in the body, or the sudo window of
//! `POST /api/v1/session/sudo` (which GET requests need).

use crate::routes::{Routes, Surface};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use twostep_auth::Action;
use twostep_auth::{
    Actor, AdminUserView, ApprovalView, AuditEntry, Ctx, Proof, ResetOutcome, SessionInfo,
    UserFilter,
};

use super::ApiJson;
use crate::session::{Api, ApiUser};
use crate::{AppState, Error};

pub fn router() -> Routes {
    Routes::new(Surface::Api)
        .get("/admin/users", Action::AdminRead, users)
        .get("/admin/users/{username}", Action::AdminRead, user)
        .post(
            "/admin/users/{username}/two-step/reset",
            Action::AdminAct,
            reset,
        )
        .post(
            "/admin/users/{username}/sessions/end",
            Action::AdminAct,
            end_sessions,
        )
        .post(
            "/admin/users/{username}/two-step/unlock",
            Action::AdminAct,
            unlock,
        )
        .post(
            "/admin/users/{username}/grant-admin",
            Action::AdminAct,
            grant,
        )
        .post(
            "/admin/users/{username}/revoke-admin",
            Action::AdminAct,
            revoke,
        )
        .get("/admin/approvals", Action::AdminRead, approvals)
        .post("/admin/approvals/{id}/approve", Action::AdminAct, approve)
        .post("/admin/approvals/{id}/cancel", Action::AdminAct, cancel)
        .get("/admin/audit", Action::AdminRead, audit)
        .post(
            "/admin/tokens/{serial}/assign",
            Action::AdminAct,
            assign_token,
        )
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AdminUser {
    pub username: String,
    pub email: String,
    pub email_confirmed: bool,
    pub two_step: bool,
    pub admin: bool,
    /// Two-step sign-in locked after wrong codes (or closed after 100).
    pub locked: bool,
    /// A self-service recovery is under way, ready then (unix seconds).
    pub recovery_ready_at: Option<i64>,
    /// An administrator reset two-step then, and it is not on again.
    pub two_step_reset_at: Option<i64>,
    pub created_at: i64,
}

impl From<AdminUserView> for AdminUser {
    fn from(u: AdminUserView) -> Self {
        AdminUser {
            username: u.username,
            email: u.email,
            email_confirmed: u.email_confirmed,
            two_step: u.two_step_on,
            admin: u.is_admin,
            locked: u.locked,
            recovery_ready_at: u.recovery_ready_at.map(|t| t.secs()),
            two_step_reset_at: u.two_step_reset_at.map(|t| t.secs()),
            created_at: u.created_at.secs(),
        }
    }
}

/// Filters of the users list.
#[derive(Deserialize, utoipa::IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct UsersQuery {
    /// `on` or `off`.
    pub two_step: Option<String>,
    /// `true`: locked second steps only.
    pub locked: Option<String>,
    /// `true`: accounts with a self-service recovery under way only.
    pub recovery_requested: Option<String>,
    /// Usernames starting with this.
    pub q: Option<String>,
    /// The next page: usernames after this one (`next_after` of the page before).
    pub after: Option<String>,
}

fn yes(field: &'static str, v: Option<&str>) -> Result<bool, Error> {
    match v.unwrap_or("").trim() {
        "" | "false" | "0" | "no" => Ok(false),
        "true" | "1" | "yes" | "on" => Ok(true),
        _ => Err(twostep_auth::AuthError::invalid(
            "invalid_filter",
            field,
            format!("{field} is true or false."),
        )
        .into()),
    }
}

impl UsersQuery {
    pub fn filter(&self) -> Result<UserFilter, Error> {
        let bounded = |v: &Option<String>| v.as_deref().unwrap_or("").chars().take(64).collect();
        Ok(UserFilter {
            two_step: match self.two_step.as_deref().unwrap_or("").trim() {
                "" | "any" => None,
                "on" | "true" => Some(true),
                "off" | "false" => Some(false),
                _ => {
                    return Err(twostep_auth::AuthError::invalid(
                        "invalid_filter",
                        "two_step",
                        "two_step is on or off.",
                    )
                    .into())
                }
            },
            locked: yes("locked", self.locked.as_deref())?,
            recovery_requested: yes("recovery_requested", self.recovery_requested.as_deref())?,
            prefix: bounded(&self.q),
            after: bounded(&self.after),
        })
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct UsersPage {
    pub users: Vec<AdminUser>,
    /// Pass as `after` for the next page; absent on the last one.
    pub next_after: Option<String>,
}

/// Accounts by username, 50 a page, with filters.
#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin", params(UsersQuery),
    responses((status = 200, body = UsersPage), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn users(
    State(state): State<AppState>,
    read: AdminRead,
    Query(q): Query<UsersQuery>,
) -> Result<Json<UsersPage>, Error> {
    let page = state
        .auth
        .admin()
        .admin_users(&read.actor(), &q.filter()?, &read.ctx)
        .await?;
    let next_after = (page.len() as i64 == twostep_auth::ADMIN_PAGE_SIZE)
        .then(|| page.last().map(|u| u.username.clone()))
        .flatten();
    Ok(Json(UsersPage {
        users: page.into_iter().map(Into::into).collect(),
        next_after,
    }))
}

/// One account.
#[utoipa::path(get, path = "/api/v1/admin/users/{username}", tag = "admin", params(("username" = String, Path)),
    responses((status = 200, body = AdminUser), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
async fn user(
    State(state): State<AppState>,
    read: AdminRead,
    Path(username): Path<String>,
) -> Result<Json<AdminUser>, Error> {
    Ok(Json(
        state
            .auth
            .admin()
            .admin_user(&read.actor(), &username, &read.ctx)
            .await?
            .into(),
    ))
}

/// An admin action: why (required for resets and unlocks), and the admin's
/// fresh code unless the session is in sudo mode.
#[derive(Deserialize, utoipa::ToSchema, Default)]
pub struct AdminActionRequest {
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub code: Option<String>,
}

/// An administrator's action with a body: who (the session), from where,
/// and the fresh proof and reason the body carries.
struct AdminCall {
    session: SessionInfo,
    ctx: Ctx,
    proof: Proof,
    reason: String,
}

impl AdminCall {
    fn actor(&self) -> Actor<'_> {
        Actor::Admin {
            session: &self.session,
            proof: &self.proof,
        }
    }
}

/// An administrator's read: the session's sudo window is its proof.
struct AdminRead {
    session: SessionInfo,
    ctx: Ctx,
}

impl AdminRead {
    fn actor(&self) -> Actor<'_> {
        Actor::Admin {
            session: &self.session,
            proof: &Proof::None,
        }
    }
}

impl FromRequestParts<AppState> for AdminRead {
    type Rejection = Error;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let ApiUser(session) = ApiUser::from_request_parts(parts, state).await?;
        let Api(ctx) = Api::from_request_parts(parts, state).await?;
        Ok(AdminRead { session, ctx })
    }
}

impl FromRequest<AppState> for AdminCall {
    type Rejection = Error;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, Error> {
        let (mut parts, body) = req.into_parts();
        let ApiUser(session) = ApiUser::from_request_parts(&mut parts, state).await?;
        let Api(ctx) = Api::from_request_parts(&mut parts, state).await?;
        let req = Request::from_parts(parts, body);
        let ApiJson(r) = ApiJson::<AdminActionRequest>::from_request(req, state).await?;
        Ok(AdminCall {
            session,
            ctx,
            proof: Proof::from_fields(r.code.as_deref(), None),
            reason: r.reason,
        })
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ResetAnswer {
    /// `reset`, or `awaiting_approval` when the user is an administrator.
    pub status: String,
    /// The request a second administrator approves.
    pub approval_id: Option<String>,
    pub expires_at: Option<i64>,
}

/// Reset a user's two-step verification: their authenticators, security keys,
/// recovery codes, app passwords and sessions go, they are mailed the reason,
/// and their next sign-in sets two-step up again. Another administrator's
/// reset waits for a second administrator (202).
#[utoipa::path(post, path = "/api/v1/admin/users/{username}/two-step/reset", tag = "admin", params(("username" = String, Path)), request_body = AdminActionRequest,
    responses((status = 200, body = ResetAnswer), (status = 202, body = ResetAnswer), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn reset(
    State(state): State<AppState>,
    Path(username): Path<String>,
    call: AdminCall,
) -> Result<(StatusCode, Json<ResetAnswer>), Error> {
    Ok(
        match state
            .auth
            .admin()
            .admin_reset_two_step(&call.actor(), &username, &call.reason, &call.ctx)
            .await?
        {
            ResetOutcome::Reset => (
                StatusCode::OK,
                Json(ResetAnswer {
                    status: "reset".into(),
                    approval_id: None,
                    expires_at: None,
                }),
            ),
            ResetOutcome::AwaitingApproval {
                approval_id,
                expires_at,
            } => (
                StatusCode::ACCEPTED,
                Json(ResetAnswer {
                    status: "awaiting_approval".into(),
                    approval_id: Some(approval_id),
                    expires_at: Some(expires_at.secs()),
                }),
            ),
        },
    )
}

/// End every session of a user (audited; the user is mailed).
#[utoipa::path(post, path = "/api/v1/admin/users/{username}/sessions/end", tag = "admin", params(("username" = String, Path)), request_body = AdminActionRequest,
    responses((status = 200, body = super::Status), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
async fn end_sessions(
    State(state): State<AppState>,
    Path(username): Path<String>,
    call: AdminCall,
) -> Result<Json<super::Status>, Error> {
    state
        .auth
        .admin()
        .admin_end_sessions(&call.actor(), &username, &call.reason, &call.ctx)
        .await?;
    Ok(super::Status::json("sessions_ended"))
}

/// Reopen a two-step sign-in locked after wrong codes.
#[utoipa::path(post, path = "/api/v1/admin/users/{username}/two-step/unlock", tag = "admin", params(("username" = String, Path)), request_body = AdminActionRequest,
    responses((status = 200, body = super::Status), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn unlock(
    State(state): State<AppState>,
    Path(username): Path<String>,
    call: AdminCall,
) -> Result<Json<super::Status>, Error> {
    state
        .auth
        .admin()
        .admin_unlock(&call.actor(), &username, &call.reason, &call.ctx)
        .await?;
    Ok(super::Status::json("unlocked"))
}

/// Make a user (with two-step on) an administrator.
#[utoipa::path(post, path = "/api/v1/admin/users/{username}/grant-admin", tag = "admin", params(("username" = String, Path)), request_body = AdminActionRequest,
    responses((status = 200, body = AdminUser), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
async fn grant(
    State(state): State<AppState>,
    Path(username): Path<String>,
    call: AdminCall,
) -> Result<Json<AdminUser>, Error> {
    Ok(Json(
        state
            .auth
            .admin()
            .grant_admin(&call.actor(), &username, &call.reason, &call.ctx)
            .await?
            .into(),
    ))
}

/// Take administrator rights away (not your own).
#[utoipa::path(post, path = "/api/v1/admin/users/{username}/revoke-admin", tag = "admin", params(("username" = String, Path)), request_body = AdminActionRequest,
    responses((status = 200, body = AdminUser), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
async fn revoke(
    State(state): State<AppState>,
    Path(username): Path<String>,
    call: AdminCall,
) -> Result<Json<AdminUser>, Error> {
    Ok(Json(
        state
            .auth
            .admin()
            .revoke_admin(&call.actor(), &username, &call.reason, &call.ctx)
            .await?
            .into(),
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ApprovalInfo {
    pub id: String,
    pub target: String,
    pub requested_by: String,
    pub reason: String,
    pub created_at: i64,
    pub expires_at: i64,
}

impl From<ApprovalView> for ApprovalInfo {
    fn from(a: ApprovalView) -> Self {
        ApprovalInfo {
            id: a.id,
            target: a.target,
            requested_by: a.requested_by,
            reason: a.reason,
            created_at: a.created_at.secs(),
            expires_at: a.expires_at.secs(),
        }
    }
}

/// Resets of administrators waiting for a second administrator.
#[utoipa::path(get, path = "/api/v1/admin/approvals", tag = "admin",
    responses((status = 200, body = [ApprovalInfo]), (status = 403, body = crate::error::ErrorBody)))]
async fn approvals(
    State(state): State<AppState>,
    read: AdminRead,
) -> Result<Json<Vec<ApprovalInfo>>, Error> {
    Ok(Json(
        state
            .auth
            .admin()
            .admin_approvals(&read.actor(), &read.ctx)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// Approve a waiting reset (not the administrator who asked, nor its target).
#[utoipa::path(post, path = "/api/v1/admin/approvals/{id}/approve", tag = "admin", params(("id" = String, Path)), request_body = AdminActionRequest,
    responses((status = 200, body = ApprovalInfo), (status = 403, body = crate::error::ErrorBody), (status = 410, body = crate::error::ErrorBody)))]
async fn approve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    call: AdminCall,
) -> Result<Json<ApprovalInfo>, Error> {
    Ok(Json(
        state
            .auth
            .admin()
            .approve_admin_reset(&call.actor(), &id, &call.ctx)
            .await?
            .into(),
    ))
}

/// Withdraw or refuse a waiting reset.
#[utoipa::path(post, path = "/api/v1/admin/approvals/{id}/cancel", tag = "admin", params(("id" = String, Path)), request_body = AdminActionRequest,
    responses((status = 200, body = ApprovalInfo), (status = 403, body = crate::error::ErrorBody), (status = 410, body = crate::error::ErrorBody)))]
async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
    call: AdminCall,
) -> Result<Json<ApprovalInfo>, Error> {
    Ok(Json(
        state
            .auth
            .admin()
            .cancel_admin_reset(&call.actor(), &id, &call.ctx)
            .await?
            .into(),
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditRow {
    pub seq: i64,
    pub at: i64,
    /// The administrator, or "the server's command line".
    pub actor: String,
    pub target: String,
    pub action: String,
    pub reason: String,
    pub channel: String,
    pub ip: String,
}

impl From<AuditEntry> for AuditRow {
    fn from(e: AuditEntry) -> Self {
        AuditRow {
            seq: e.seq,
            at: e.at.secs(),
            actor: e.actor,
            target: e.target,
            action: e.action,
            reason: e.reason,
            channel: e.channel,
            ip: e.ip,
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries older than this `seq` (`next_before` of the page before).
    pub before: Option<i64>,
    /// 1 to 200 [default: 50].
    pub limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditRow>,
    /// Pass as `before` for the next page; absent on the last one.
    pub next_before: Option<i64>,
}

/// The admin audit log, newest first.
#[utoipa::path(get, path = "/api/v1/admin/audit", tag = "admin", params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 403, body = crate::error::ErrorBody)))]
async fn audit(
    State(state): State<AppState>,
    read: AdminRead,
    Query(q): Query<AuditQuery>,
) -> Result<Json<AuditPage>, Error> {
    let limit = q
        .limit
        .unwrap_or(twostep_auth::ADMIN_PAGE_SIZE)
        .clamp(1, 200);
    let rows = state
        .auth
        .admin()
        .admin_audit(&read.actor(), q.before, limit, &read.ctx)
        .await?;
    let next_before = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|r| r.seq))
        .flatten();
    Ok(Json(AuditPage {
        entries: rows.into_iter().map(Into::into).collect(),
        next_before,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct AssignToken {
    pub username: String,
    /// The admin's fresh code unless the session is in sudo mode.
    #[serde(default)]
    pub code: Option<String>,
}

/// Make an imported hardware token one of a user's authenticators.
#[utoipa::path(post, path = "/api/v1/admin/tokens/{serial}/assign", tag = "admin", params(("serial" = String, Path)), request_body = AssignToken,
    responses((status = 200, body = super::Status), (status = 403, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn assign_token(
    State(state): State<AppState>,
    ApiUser(s): ApiUser,
    Api(ctx): Api,
    Path(serial): Path<String>,
    ApiJson(r): ApiJson<AssignToken>,
) -> Result<Json<super::Status>, Error> {
    let proof = twostep_auth::Proof::from_fields(r.code.as_deref(), None);
    let actor = Actor::Admin {
        session: &s,
        proof: &proof,
    };
    state
        .auth
        .factors()
        .assign_token(&actor, &serial, &r.username, &ctx)
        .await?;
    Ok(super::Status::json("assigned"))
}
