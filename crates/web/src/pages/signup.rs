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
        .post("/confirm-email", Action::RedeemLink, finish)
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

#[derive(Template)]
#[template(path = "finish_signup.html")]
struct FinishPage {
    page: Page,
    username: String,
    token: String,
    error: Option<FormError>,
}
form_errors!(FinishPage);

/// Following the mailed link: an account's address is confirmed (nothing
/// else changes); a sign-up's link shows the form that finishes it with the
/// password chosen at sign-up (a mail scanner's visit, or a link planted in
/// someone else's browser, makes nothing).
async fn confirm(
    State(state): State<AppState>,
    MaybeSignedIn(s): MaybeSignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    Query(q): Query<TokenQuery>,
) -> Result<Response, Error> {
    let token = q.token.unwrap_or_default();
    if let Some(username) = state.auth.accounts().pending_sign_up(&token).await? {
        return render(&FinishPage {
            page: Page::new(&state, None, &csrf),
            username,
            token,
            error: None,
        });
    }
    let confirmed = state
        .auth
        .accounts()
        .confirm_email(&token, None, false, &ctx)
        .await?;
    let user = &confirmed.account;
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

#[derive(Deserialize)]
struct FinishForm {
    csrf: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
}

/// Finishes a sign-up: the account is made and this browser signed in.
async fn finish(
    State(state): State<AppState>,
    csrf: Csrf,
    Web(ctx): Web,
    jar: CookieJar,
    FormBody(f): FormBody<FinishForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    let confirmed = match state
        .auth
        .accounts()
        .confirm_email(&f.token, Some(&f.password), true, &ctx)
        .await
    {
        Ok(c) => c,
        Err(e) => {
            let username = state
                .auth
                .accounts()
                .pending_sign_up(&f.token)
                .await?
                .unwrap_or_default();
            let (status, error) = form_failure(e)?;
            return render_status(
                status,
                &FinishPage {
                    page: Page::new(&state, None, &csrf),
                    username,
                    token: f.token,
                    error: Some(error),
                },
            );
        }
    };
    let user = &confirmed.account;
    let page = render(&Message {
        page: Page::new(&state, None, &csrf),
        heading: "Email address confirmed".into(),
        paragraphs: vec![
            format!(
                "Welcome, {}: your account is ready and {} is confirmed.",
                user.username, user.email
            ),
            "Next, protect it: turn on two-step verification.".into(),
        ],
        link: Some((
            "/account/two-step".into(),
            "Set up two-step verification".into(),
        )),
    })?;
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
