use crate::routes::{Routes, Surface};
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use twostep_auth::{Action, LogEntry};

use super::{filters, render, Page};
use crate::csrf::Csrf;
use crate::session::SignedIn;
use crate::{AppState, Error};

pub fn routes() -> Routes {
    Routes::new(Surface::Page).get("/account/security-log", Action::ViewAccount, show)
}

#[derive(Template)]
#[template(path = "security_log.html")]
struct LogPage {
    page: Page,
    entries: Vec<LogEntry>,
}

async fn show(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
) -> Result<Response, Error> {
    let entries = state.auth.accounts().security_log(&s.user.id, 200).await?;
    render(&LogPage {
        page: Page::new(&state, Some(&s), &csrf),
        entries,
    })
}
