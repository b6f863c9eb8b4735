//! The mailed link that approves an SSH command for an account with no
//! password: opened in a signed-in browser, approved by a button (a GET
//! changes nothing, so mail scanners that follow links approve nothing).

use crate::routes::{Routes, Surface};
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use twostep_auth::Action;

use super::signup::Message;
use super::{render, FormBody, Page};
use crate::csrf::Csrf;
use crate::session::{SignedIn, Web};
use crate::{AppState, Error};

pub fn routes() -> Routes {
    Routes::new(Surface::Page)
        .get("/account/approve-ssh", Action::ViewAccount, show)
        .post("/account/approve-ssh", Action::ApproveSshCommand, approve)
}

#[derive(Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

#[derive(Template)]
#[template(path = "approve_ssh.html")]
struct ApprovePage {
    page: Page,
    what: String,
    token: String,
}

async fn show(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Query(q): Query<TokenQuery>,
) -> Result<Response, Error> {
    let what = state
        .auth
        .links()
        .ssh_approval_request(&s, &q.token)
        .await?;
    render(&ApprovePage {
        page: Page::new(&state, Some(&s), &csrf),
        what,
        token: q.token,
    })
}

#[derive(Deserialize)]
struct ApproveForm {
    csrf: String,
    #[serde(default)]
    token: String,
}

async fn approve(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    FormBody(f): FormBody<ApproveForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    let what = state.auth.links().approve_ssh(&s, &f.token, &ctx).await?;
    render(&Message {
        page: Page::new(&state, Some(&s), &csrf),
        heading: "Approved".into(),
        paragraphs: vec![format!(
            "You approved {what} over SSH. Go back to your terminal: it goes on in a few seconds."
        )],
        link: None,
    })
}
