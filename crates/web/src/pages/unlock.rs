//! The mailed links that reopen a second step frozen after 100 wrong codes,
//! and password sign-in closed to unknown clients after 100 wrong passwords.
//! Opening a link shows a button (mail scanners fetch links; only a POST acts).

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
        .get(
            "/unlock-password-sign-in",
            Action::RedeemLink,
            password_form,
        )
        .post(
            "/unlock-password-sign-in",
            Action::RedeemLink,
            password_unlock,
        )
}

#[derive(Template)]
#[template(path = "unlock.html")]
struct UnlockPage {
    page: Page,
    token: String,
    /// "second-step" or "password-sign-in".
    what: &'static str,
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
    unlock_page(&state, &csrf, q.token, "second-step")
}

async fn password_form(
    State(state): State<AppState>,
    csrf: Csrf,
    Query(q): Query<TokenQuery>,
) -> Result<Response, Error> {
    unlock_page(&state, &csrf, q.token, "password-sign-in")
}

fn unlock_page(
    state: &AppState,
    csrf: &Csrf,
    token: String,
    what: &'static str,
) -> Result<Response, Error> {
    render(&UnlockPage {
        page: Page::new(state, None, csrf),
        token,
        what,
    })
}

/// The page after an unlock: what is open again, and a way to sign in.
fn reopened(state: &AppState, csrf: &Csrf, heading: &str, text: String) -> Result<Response, Error> {
    render(&Message {
        page: Page::new(state, None, csrf),
        heading: heading.into(),
        paragraphs: vec![text],
        link: Some(("/signin".into(), "Sign in".into())),
    })
}

async fn password_unlock(
    State(state): State<AppState>,
    csrf: Csrf,
    Web(ctx): Web,
    FormBody(f): FormBody<UnlockForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    let user = state
        .auth
        .signin()
        .unlock_password_sign_in(&f.token, &ctx)
        .await?;
    reopened(
        &state,
        &csrf,
        "Password sign-in is open again",
        format!(
            "{}, you can sign in with your password from any browser again. Someone tried 100 wrong passwords for your account: keep two-step verification on, and choose a password nobody could guess.",
            user.username
        ),
    )
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
    reopened(
        &state,
        &csrf,
        "Two-step sign-in is open again",
        format!(
            "{}, you can sign in with a code again. Change your password: someone who knows it typed those codes.",
            user.username
        ),
    )
}
