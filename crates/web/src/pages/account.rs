use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use twostep_auth::{Proof, SessionInfo};

use super::{
    form_errors, form_failure, render, render_status, safe_next, FormBody, FormError, NoticeQuery,
    Page,
};
use crate::csrf::Csrf;
use crate::session::{SignedIn, Web};
use crate::{AppState, Error};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/account", get(show))
        .route("/account/confirm", get(confirm_form).post(confirm))
}

#[derive(Template)]
#[template(path = "confirm.html")]
struct ConfirmPage {
    page: Page,
    next: String,
    two_step_on: bool,
    has_key: bool,
    error: Option<FormError>,
}
form_errors!(ConfirmPage);

impl ConfirmPage {
    async fn new(
        state: &AppState,
        s: &SessionInfo,
        csrf: &Csrf,
        next: &str,
    ) -> Result<Self, Error> {
        Ok(ConfirmPage {
            page: Page::new(state, Some(s), csrf),
            next: safe_next(state, Some(next)),
            two_step_on: s.user.two_step_enabled_at.is_some(),
            has_key: !state.auth.security_keys(&s.user.id).await?.is_empty(),
            error: None,
        })
    }
}

async fn confirm_form(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Query(q): Query<NextQuery>,
) -> Result<Response, Error> {
    let next = q.next.unwrap_or_else(|| "/account".into());
    render(&ConfirmPage::new(&state, &s, &csrf, &next).await?)
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

#[derive(Deserialize)]
struct ConfirmForm {
    csrf: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

async fn confirm(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    FormBody(f): FormBody<ConfirmForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    let next = safe_next(&state, Some(&f.next));
    let proof = Proof::from_fields(f.code.as_deref(), f.password.as_deref());
    // A security key confirmed a moment ago (the key button posts no proof).
    if proof == Proof::None && state.auth.in_sudo(&s) {
        return Ok(Redirect::to(&next).into_response());
    }
    match state.auth.confirm_identity(&s, &proof, &ctx).await {
        Ok(_) => Ok(Redirect::to(&next).into_response()),
        Err(e) => {
            let (status, error) = form_failure(e)?;
            let mut p = ConfirmPage::new(&state, &s, &csrf, &next).await?;
            p.error = Some(error);
            render_status(status, &p)
        }
    }
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
