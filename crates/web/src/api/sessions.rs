//! /api/v1/user/sessions: the signed-in person's sessions, ended one by one
//! or all but the one in use (a browser session's cookie only).

use crate::routes::{Routes, Surface};
use axum::extract::{Path, State};
use axum::Json;
use serde::Serialize;
use twostep_auth::{Action, SessionEntry};

use crate::session::{Api, ApiUser};
use crate::{AppState, Error};

pub fn router() -> Routes {
    Routes::new(Surface::Api)
        .get("/user/sessions", Action::ListSessions, list)
        .delete("/user/sessions/{handle}", Action::EndSession, end)
        .post("/user/sessions/end-others", Action::EndSession, end_others)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionView {
    /// Names the session in `DELETE /api/v1/user/sessions/{handle}`.
    pub handle: String,
    /// The browser, from its User-Agent: "Firefox 128 on Linux".
    pub browser: String,
    pub ip: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds (written at most once a minute).
    pub last_seen_at: i64,
    /// The session of this request.
    pub current: bool,
}

impl From<SessionEntry> for SessionView {
    fn from(e: SessionEntry) -> SessionView {
        SessionView {
            handle: e.handle,
            browser: e.browser,
            ip: e.ip,
            created_at: e.created_at.secs(),
            last_seen_at: e.last_seen_at.secs(),
            current: e.current,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Ended {
    pub status: String,
    /// How many sessions ended.
    pub ended: u64,
}

/// The signed-in person's sessions, most recently used first.
#[utoipa::path(get, path = "/api/v1/user/sessions", tag = "users", responses((status = 200, body = [SessionView]), (status = 403, body = crate::error::ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    ApiUser(s): ApiUser,
) -> Result<Json<Vec<SessionView>>, Error> {
    let entries = state.auth.accounts().sessions(&s).await?;
    Ok(Json(entries.into_iter().map(SessionView::from).collect()))
}

/// End one of the person's other sessions.
#[utoipa::path(delete, path = "/api/v1/user/sessions/{handle}", tag = "users", params(("handle" = String, Path)),
    responses((status = 200, body = super::Status), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
async fn end(
    State(state): State<AppState>,
    ApiUser(s): ApiUser,
    Api(ctx): Api,
    Path(handle): Path<String>,
) -> Result<Json<super::Status>, Error> {
    state.auth.accounts().end_session(&s, &handle, &ctx).await?;
    Ok(super::Status::json("session_ended"))
}

/// End every session of the person but this one.
#[utoipa::path(post, path = "/api/v1/user/sessions/end-others", tag = "users", responses((status = 200, body = Ended)))]
async fn end_others(
    State(state): State<AppState>,
    ApiUser(s): ApiUser,
    Api(ctx): Api,
) -> Result<Json<Ended>, Error> {
    let ended = state.auth.accounts().end_other_sessions(&s, &ctx).await?;
    Ok(Json(Ended {
        status: "sessions_ended".into(),
        ended,
    }))
}
