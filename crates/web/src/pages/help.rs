use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use super::{render, Page};
use crate::csrf::Csrf;
use crate::session::MaybeSignedIn;
use crate::{AppState, Error};

pub fn routes() -> Router<AppState> {
    Router::new().route("/help/recovery", get(recovery))
}

#[derive(Template)]
#[template(path = "help_recovery.html")]
struct RecoveryHelp {
    page: Page,
    ssh_hint: String,
}

async fn recovery(
    State(state): State<AppState>,
    MaybeSignedIn(s): MaybeSignedIn,
    csrf: Csrf,
) -> Result<Response, Error> {
    render(&RecoveryHelp {
        page: Page::new(&state, s.as_ref(), &csrf),
        ssh_hint: state.auth.settings().ssh_hint.clone(),
    })
}
