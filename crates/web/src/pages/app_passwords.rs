use crate::routes::{Routes, Surface};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use twostep_auth::Action;
use twostep_auth::{AppPasswordView, Scope, SessionInfo};

use super::{
    filters, form_errors, refused, render, FormBody, FormError, NoticeQuery, Page, ProofForm,
};
use crate::csrf::Csrf;
use crate::session::{SignedIn, Web};
use crate::{AppState, Error};

pub fn routes() -> Routes {
    Routes::new(Surface::Page)
        .get("/account/app-passwords", Action::ViewAccount, list)
        .post("/account/app-passwords", Action::CreateAppPassword, create)
        .post(
            "/account/app-passwords/{id}/revoke",
            Action::RevokeAppPassword,
            revoke,
        )
}

#[derive(Template)]
#[template(path = "app_passwords.html")]
struct AppPasswordsPage {
    page: Page,
    passwords: Vec<AppPasswordView>,
    scopes: &'static [Scope],
    created: Option<String>,
    example_url: String,
    error: Option<FormError>,
}
form_errors!(AppPasswordsPage);

async fn page(
    state: &AppState,
    s: &SessionInfo,
    csrf: &Csrf,
    notice: Option<&str>,
) -> Result<AppPasswordsPage, Error> {
    let passwords = state.auth.credentials().app_passwords(&s.user.id).await?;
    let st = state.auth.settings();
    Ok(AppPasswordsPage {
        page: Page::new(state, Some(s), csrf).notice(notice),
        passwords,
        scopes: &Scope::ALL,
        created: None,
        example_url: format!("{}/{}/REPOSITORY.git", st.public_url, s.user.username),
        error: None,
    })
}

async fn list(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, Error> {
    render(&page(&state, &s, &csrf, q.n.as_deref()).await?)
}

#[derive(Deserialize)]
struct CreateForm {
    csrf: String,
    label: String,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    expires_in_days: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    FormBody(f): FormBody<CreateForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    let scopes: Vec<&str> = f.scopes.iter().map(String::as_str).collect();
    let days = match f.expires_in_days.as_deref().map(str::trim) {
        None | Some("") => None,
        // Not a number: a day count the service refuses, with its message.
        Some(d) => Some(d.parse::<i64>().unwrap_or(0)),
    };
    match state
        .auth
        .credentials()
        .create_app_password(
            &s,
            &f.label,
            &scopes,
            days,
            &twostep_auth::Proof::from_fields(f.code.as_deref(), f.password.as_deref()),
            &ctx,
        )
        .await
    {
        Ok((secret, _)) => {
            let mut p = page(&state, &s, &csrf, None).await?;
            p.created = Some(secret);
            let mut res = render(&p)?;
            res.headers_mut().insert(
                axum::http::header::CACHE_CONTROL,
                axum::http::HeaderValue::from_static("no-store"),
            );
            Ok(res)
        }
        Err(e) => refused(e, page(&state, &s, &csrf, None)).await,
    }
}

async fn revoke(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    Path(id): Path<String>,
    FormBody(f): FormBody<ProofForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    state
        .auth
        .credentials()
        .revoke_app_password(&s, &id, &f.proof(), &ctx)
        .await?;
    Ok(Redirect::to("/account/app-passwords?n=app-password-revoked").into_response())
}
