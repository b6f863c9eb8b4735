use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use axum_extra::extract::CookieJar;
use serde::Deserialize;

use super::signup::Message;
use super::{form_errors, form_failure, render, render_status, FormBody, FormError, Page};
use crate::csrf::Csrf;
use crate::session::{clear_session_cookie, MaybeSignedIn, Web};
use crate::{AppState, Error};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/password/forgot", get(forgot_form).post(forgot_submit))
        .route("/password/reset", get(reset_form).post(reset_submit))
}

#[derive(Template)]
#[template(path = "password_forgot.html")]
struct ForgotPage {
    page: Page,
    error: Option<FormError>,
}
form_errors!(ForgotPage);

async fn forgot_form(
    State(state): State<AppState>,
    MaybeSignedIn(s): MaybeSignedIn,
    csrf: Csrf,
) -> Result<Response, Error> {
    render(&ForgotPage {
        page: Page::new(&state, s.as_ref(), &csrf),
        error: None,
    })
}

#[derive(Deserialize)]
struct ForgotForm {
    csrf: String,
    email: String,
}

async fn forgot_submit(
    State(state): State<AppState>,
    MaybeSignedIn(s): MaybeSignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    FormBody(f): FormBody<ForgotForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    if let Err(e) = state.auth.request_password_reset(&f.email, &ctx).await {
        let (status, error) = form_failure(e)?;
        return render_status(
            status,
            &ForgotPage {
                page: Page::new(&state, s.as_ref(), &csrf),
                error: Some(error),
            },
        );
    }
    render(&Message {
        page: Page::new(&state, s.as_ref(), &csrf),
        heading: "Check your email".into(),
        paragraphs: vec![
            "If an account uses that address, we sent it a link to choose a new password. The link works once, for one hour.".into(),
            "Nothing arrived? Check the spam folder, or make sure you typed the address your account uses.".into(),
        ],
        link: None,
    })
}

#[derive(Template)]
#[template(path = "password_reset.html")]
struct ResetPage {
    page: Page,
    username: String,
    token: String,
    error: Option<FormError>,
}
form_errors!(ResetPage);

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

async fn reset_form(
    State(state): State<AppState>,
    csrf: Csrf,
    Query(q): Query<TokenQuery>,
) -> Result<Response, Error> {
    let token = q.token.unwrap_or_default();
    let user = state.auth.check_reset_link(&token).await?;
    render(&ResetPage {
        page: Page::new(&state, None, &csrf),
        username: user.username,
        token,
        error: None,
    })
}

#[derive(Deserialize)]
struct ResetForm {
    csrf: String,
    token: String,
    password: String,
}

async fn reset_submit(
    State(state): State<AppState>,
    csrf: Csrf,
    Web(ctx): Web,
    jar: CookieJar,
    FormBody(f): FormBody<ResetForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    match state.auth.reset_password(&f.token, &f.password, &ctx).await {
        Ok(_) => Ok((
            jar.add(clear_session_cookie(state.secure_cookies)),
            Redirect::to("/signin?n=password-changed"),
        )
            .into_response()),
        Err(e) => {
            let user = state.auth.check_reset_link(&f.token).await?;
            let (status, error) = form_failure(e)?;
            render_status(
                status,
                &ResetPage {
                    page: Page::new(&state, None, &csrf),
                    username: user.username,
                    token: f.token,
                    error: Some(error),
                },
            )
        }
    }
}
