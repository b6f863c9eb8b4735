//! `/healthz` (the process answers) and `/readyz` (this node can serve:
//! database and repositories folder), plain text for load balancers.

use crate::routes::{Routes, Surface};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use twostep_auth::Action;

use crate::AppState;

pub fn router() -> Routes {
    Routes::new(Surface::Api)
        .get("/healthz", Action::ReadPublic, healthz)
        .get("/readyz", Action::ReadPublic, readyz)
}

fn text(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

async fn healthz() -> Response {
    text(StatusCode::OK, "ok\n".into())
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.auth.readiness().await {
        Ok(()) => text(StatusCode::OK, "ready\n".into()),
        Err(e) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "not ready: {}\n",
                match e {
                    twostep_auth::AuthError::Internal(why) => why.to_string(),
                    other => other.to_string(),
                }
            ),
        ),
    }
}
