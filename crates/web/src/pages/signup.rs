use crate::routes::{Routes, Surface};
use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use twostep_auth::Action;

use super::{
    form_errors, form_failure, render, render_status, CsrfForm, FormBody, FormError, Page,
};
use crate::csrf::Csrf;
use crate::session::{signed_in, MaybeSignedIn, SignedIn, Web};
use crate::{AppState, Error};

pub fn routes() -> Routes {
    Routes::new(Surface::Page)
        .get("/signup", Action::SignUp, form)
        .post("/signup", Action::SignUp, submit)
        .get("/confirm-email", Action::RedeemLink, confirm)
        .post(
            "/confirm-email/resend",
            Action::ResendEmailConfirmation,
            resend,
        )
}

#[derive(Template)]
#[template(path = "signup.html")]
struct SignUpPage {
    page: Page,
    username: String,
    email: String,
    error: Option<FormError>,
}
form_errors!(SignUpPage);

async fn form(
    State(state): State<AppState>,
    MaybeSignedIn(s): MaybeSignedIn,
    csrf: Csrf,
) -> Result<Response, Error> {
    render(&SignUpPage {
        page: Page::new(&state, s.as_ref(), &csrf),
        username: String::new(),
        email: String::new(),
        error: None,
    })
}

#[derive(Deserialize)]
struct SignUpForm {
    csrf: String,
    username: String,
    email: String,
    password: String,
}

async fn submit(
    State(state): State<AppState>,
    csrf: Csrf,
    Web(ctx): Web,
    FormBody(f): FormBody<SignUpForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    if let Err(e) = state
        .auth
        .accounts()
        .sign_up(&f.username, &f.email, &f.password, &ctx)
        .await
    {
        let (status, error) = form_failure(e)?;
        return render_status(
            status,
            &SignUpPage {
                page: Page::new(&state, None, &csrf),
                username: f.username,
                email: f.email,
                error: Some(error),
            },
        );
    }
    render(&Message {
        page: Page::new(&state, None, &csrf),
        heading: "Check your email".into(),
        paragraphs: vec![
            format!(
                "We sent a link to {}: open it within 24 hours to finish creating your account.",
                f.email.trim()
            ),
            "Nothing arrived? Check the spam folder, or sign up again.".into(),
        ],
        link: None,
    })
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct Message {
    pub page: Page,
    pub heading: String,
    pub paragraphs: Vec<String>,
    pub link: Option<(String, String)>,
}

/// Following the mailed link confirms the address (nothing else changes).
async fn confirm(
    State(state): State<AppState>,
    MaybeSignedIn(s): MaybeSignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    jar: CookieJar,
    Query(q): Query<TokenQuery>,
) -> Result<Response, Error> {
    let confirmed = state
        .auth
        .accounts()
        .confirm_email(q.token.as_deref().unwrap_or(""), &ctx)
        .await?;
    let user = &confirmed.account;
    let (heading, first) = match confirmed.new_session {
        Some(_) => (
            "Email address confirmed",
            format!(
                "Welcome, {}: your account is ready and {} is confirmed.",
                user.username, user.email
            ),
        ),
        None => (
            "Email address confirmed",
            format!(
                "Thank you: {} is confirmed for {}.",
                user.email, user.username
            ),
        ),
    };
    let page = render(&Message {
        page: Page::new(&state, s.as_ref(), &csrf),
        heading: heading.into(),
        paragraphs: vec![
            first,
            "Next, protect it: turn on two-step verification.".into(),
        ],
        link: Some((
            "/account/two-step".into(),
            "Set up two-step verification".into(),
        )),
    })?;
    // A new account: this browser is signed in to it.
    match confirmed.new_session {
        Some(token) => Ok((signed_in(jar, &state, token, &user.id, &ctx), page).into_response()),
        None => Ok(page),
    }
}

async fn resend(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    FormBody(f): FormBody<CsrfForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    state
        .auth
        .accounts()
        .resend_confirmation(&s.user.id)
        .await?;
    Ok(Redirect::to("/account?n=confirmation-sent").into_response())
}
