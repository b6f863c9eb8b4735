use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use super::{render, NoticeQuery, Page};
use crate::csrf::Csrf;
use crate::session::SignedIn;
use crate::{AppState, Error};

pub fn routes() -> Router<AppState> {
    Router::new().route("/account", get(show))
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    page: Page,
    username: String,
    email: String,
    email_confirmed: bool,
    two_step_on: bool,
}

async fn show(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, Error> {
    render(&AccountPage {
        page: Page::new(&state, Some(&s), &csrf).notice(q.n.as_deref()),
        username: s.user.username.clone(),
        email: s.user.email.clone(),
        email_confirmed: s.user.email_confirmed_at.is_some(),
        two_step_on: s.user.two_step_enabled_at.is_some(),
    })
}
