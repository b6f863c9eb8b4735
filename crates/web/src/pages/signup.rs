use crate::routes::{Routes, Surface};
use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use twostep_auth::Action;
use twostep_auth::SignInOutcome;

use super::{
    form_errors, form_failure, render, render_status, CsrfForm, FormBody, FormError, Page,
};
use crate::csrf::Csrf;
use crate::session::{session_cookie, MaybeSignedIn, SignedIn, Web};
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
    jar: CookieJar,
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
    // The new account has no second step yet: sign it in straight away.
    match state
        .auth
        .signin()
        .sign_in(&f.username, &f.password, &ctx)
        .await?
    {
        SignInOutcome::SignedIn { token, .. } | SignInOutcome::SecondStep { token, .. } => Ok((
            jar.add(session_cookie(token, state.secure_cookies)),
            Redirect::to("/account?n=signed-up"),
        )
            .into_response()),
    }
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
    Query(q): Query<TokenQuery>,
) -> Result<Response, Error> {
    let user = state
        .auth
        .accounts()
        .confirm_email(q.token.as_deref().unwrap_or(""), &ctx)
        .await?;
    render(&Message {
        page: Page::new(&state, s.as_ref(), &csrf),
        heading: "Email address confirmed".into(),
        paragraphs: vec![format!(
            "Thank you: {} is confirmed for {}.",
            user.email, user.username
        )],
        link: Some((
            "/account/two-step".into(),
            "Set up two-step verification".into(),
        )),
    })
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
