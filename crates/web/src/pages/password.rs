use crate::routes::{Routes, Surface};
use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use twostep_auth::Action;
use twostep_auth::{Credential, SshKey};

use super::filters;
use super::signup::Message;
use super::{form_errors, form_failure, render, render_status, FormBody, FormError, Page};
use crate::csrf::Csrf;
use crate::session::{clear_session_cookie, MaybeSignedIn, Web};
use crate::{AppState, Error};

pub fn routes() -> Routes {
    Routes::new(Surface::Page)
        .get("/password/forgot", Action::ForgotPassword, forgot_form)
        .post("/password/forgot", Action::ForgotPassword, forgot_submit)
        .get("/password/reset", Action::RedeemLink, reset_form)
        .post("/password/reset", Action::RedeemLink, reset_submit)
        .post("/password/reset/revoke", Action::RedeemLink, revoke_submit)
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
    if let Err(e) = state
        .auth
        .recovery()
        .request_password_reset(&f.email, &ctx)
        .await
    {
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
    let user = state.auth.recovery().check_reset_link(&token).await?;
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
    match state
        .auth
        .recovery()
        .reset_password(&f.token, &f.password, &ctx)
        .await
    {
        Ok((_, review)) => Ok((
            jar.add(clear_session_cookie(state.secure_cookies)),
            review_page(&state, &csrf, &review, None).await?,
        )
            .into_response()),
        Err(e) => {
            let user = state.auth.recovery().check_reset_link(&f.token).await?;
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

#[derive(Template)]
#[template(path = "reset_review.html")]
struct ReviewPage {
    page: Page,
    username: String,
    review: String,
    keys: Vec<SshKey>,
    /// What the reset ended (app passwords, applications), by name.
    ended: Vec<String>,
}

/// What the reset ended, and the SSH keys left on the account, each revocable.
async fn review_page(
    state: &AppState,
    csrf: &Csrf,
    review: &str,
    notice: Option<&str>,
) -> Result<Response, Error> {
    let r = state
        .auth
        .recovery()
        .credentials_after_reset(review)
        .await?;
    render(&ReviewPage {
        page: Page::new(state, None, csrf).notice(notice),
        username: r.username,
        review: review.to_string(),
        keys: r.ssh_keys,
        ended: r.ended,
    })
}

#[derive(Deserialize)]
struct RevokeForm {
    csrf: String,
    review: String,
    kind: String,
    id: String,
}

async fn revoke_submit(
    State(state): State<AppState>,
    csrf: Csrf,
    Web(ctx): Web,
    FormBody(f): FormBody<RevokeForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    let (what, notice) = match f.kind.as_str() {
        "ssh-key" => (Credential::SshKey(&f.id), "key-removed"),
        _ => return Err(Error::bad_request("Unknown kind of credential.")),
    };
    state
        .auth
        .recovery()
        .revoke_after_reset(&f.review, what, &ctx)
        .await?;
    review_page(&state, &csrf, &f.review, Some(notice)).await
}
