use crate::routes::{Routes, Surface};
use axum::extract::State;
use axum::Json;
use serde::Serialize;
use twostep_auth::Action;

use crate::session::ApiUser;
use crate::{AppState, Error};

pub fn router() -> Routes {
    Routes::new(Surface::Api).get("/user/security-log", Action::ReadAccount, list)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LogEntryView {
    /// Unix seconds.
    pub at: i64,
    /// Stable event name, e.g. `two_step.enabled`.
    pub event: String,
    pub description: String,
    pub detail: String,
    /// web, api, ssh, git-http, cli
    pub channel: String,
    pub ip: String,
}

/// The signed-in user's security log, newest first.
#[utoipa::path(get, path = "/api/v1/user/security-log", tag = "users", responses((status = 200, body = [LogEntryView])))]
async fn list(
    State(state): State<AppState>,
    user: ApiUser,
) -> Result<Json<Vec<LogEntryView>>, Error> {
    let s = user.0;
    let entries = state.auth.accounts().security_log(&s.user.id, 200).await?;
    Ok(Json(
        entries
            .into_iter()
            .map(|e| LogEntryView {
                at: e.at.secs(),
                description: e.what.to_string(),
                event: e.event,
                detail: e.detail,
                channel: e.channel,
                ip: e.ip,
            })
            .collect(),
    ))
}
