//! /account/sessions: where the account is signed in, and ending it there.

use crate::routes::{Routes, Surface};
use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use twostep_auth::{Action, SessionEntry};

use super::{filters, render, CsrfForm, FormBody, Page};
use crate::csrf::Csrf;
use crate::session::{SignedIn, Web};
use crate::{AppState, Error};

pub fn routes() -> Routes {
    Routes::new(Surface::Page)
        .get("/account/sessions", Action::ListSessions, show)
        .post("/account/sessions/end", Action::EndSession, end)
        .post(
            "/account/sessions/end-others",
            Action::EndSession,
            end_others,
        )
}

#[derive(Template)]
#[template(path = "sessions.html")]
struct SessionsPage {
    page: Page,
    sessions: Vec<SessionEntry>,
    /// After a factor was added, removed or replaced: offer to end the others.
    factor_changed: bool,
}

#[derive(Deserialize)]
struct Notice {
    n: Option<String>,
    #[serde(default)]
    after: Option<String>,
}

async fn show(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Query(q): Query<Notice>,
) -> Result<Response, Error> {
    let sessions = state.auth.accounts().sessions(&s).await?;
    render(&SessionsPage {
        page: Page::new(&state, Some(&s), &csrf).notice(q.n.as_deref()),
        factor_changed: q.after.as_deref() == Some("factor") && sessions.len() > 1,
        sessions,
    })
}

#[derive(Deserialize)]
struct EndForm {
    csrf: String,
    #[serde(default)]
    handle: String,
}

async fn end(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    FormBody(f): FormBody<EndForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    state
        .auth
        .accounts()
        .end_session(&s, &f.handle, &ctx)
        .await?;
    Ok(Redirect::to("/account/sessions?n=session-ended").into_response())
}

async fn end_others(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    FormBody(f): FormBody<CsrfForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    state.auth.accounts().end_other_sessions(&s, &ctx).await?;
    Ok(Redirect::to("/account/sessions?n=sessions-ended").into_response())
}
