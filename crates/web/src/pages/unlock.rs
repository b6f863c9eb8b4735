//! The mailed link that reopens a second step frozen after 100 wrong codes.
//! Opening the link shows a button (mail scanners fetch links; only a POST acts).

use crate::routes::{Routes, Surface};
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use twostep_auth::Action;

use super::signup::Message;
use super::{render, FormBody, Page};
use crate::csrf::Csrf;
use crate::session::Web;
use crate::{AppState, Error};

pub fn routes() -> Routes {
    Routes::new(Surface::Page)
        .get("/unlock-second-step", Action::RedeemLink, form)
        .post("/unlock-second-step", Action::RedeemLink, unlock)
}

#[derive(Template)]
#[template(path = "unlock.html")]
struct UnlockPage {
    page: Page,
    token: String,
}

#[derive(Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

async fn form(
    State(state): State<AppState>,
    csrf: Csrf,
    Query(q): Query<TokenQuery>,
) -> Result<Response, Error> {
    render(&UnlockPage {
        page: Page::new(&state, None, &csrf),
        token: q.token,
    })
}

#[derive(Deserialize)]
struct UnlockForm {
    csrf: String,
    #[serde(default)]
    token: String,
}

async fn unlock(
    State(state): State<AppState>,
    csrf: Csrf,
    Web(ctx): Web,
    FormBody(f): FormBody<UnlockForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    let user = state
        .auth
        .factors()
        .unlock_second_step(&f.token, &ctx)
        .await?;
    render(&Message {
        page: Page::new(&state, None, &csrf),
        heading: "Two-step sign-in is open again".into(),
        paragraphs: vec![format!(
            "{}, you can sign in with a code again. Change your password: someone who knows it typed those codes.",
            user.username
        )],
        link: Some(("/signin".into(), "Sign in".into())),
    })
}
