use crate::routes::{Routes, Surface};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use twostep_auth::Action;
use twostep_auth::SessionInfo;

use super::{
    form_errors, form_failure, render, render_status, FormBody, FormError, NoticeQuery, Page,
    ProofForm,
};
use crate::csrf::Csrf;
use crate::session::{SignedIn, Web};
use crate::{AppState, Error};

pub fn routes() -> Routes {
    Routes::new(Surface::Page)
        .get("/account/ssh-keys", Action::ViewAccount, list)
        .post("/account/ssh-keys", Action::AddSshKey, add)
        .post(
            "/account/ssh-keys/{id}/delete",
            Action::RemoveSshKey,
            remove,
        )
}

pub struct KeyRow {
    pub id: String,
    pub title: String,
    pub fingerprint: String,
    pub algorithm: String,
    pub bits: i64,
    pub added: String,
    /// `verify-required`, `no-touch-required` (FIDO keys).
    pub options: String,
}

#[derive(Template)]
#[template(path = "ssh_keys.html")]
struct KeysPage {
    page: Page,
    ssh_hint: String,
    fingerprint: String,
    keys: Vec<KeyRow>,
    title: String,
    key: String,
    error: Option<FormError>,
}
form_errors!(KeysPage);

async fn page(
    state: &AppState,
    s: &SessionInfo,
    csrf: &Csrf,
    notice: Option<&str>,
) -> Result<KeysPage, Error> {
    let keys = state
        .auth
        .credentials()
        .ssh_keys(&s.user.id)
        .await?
        .into_iter()
        .map(|k| KeyRow {
            id: k.id,
            title: k.title,
            fingerprint: k.fingerprint,
            algorithm: k.algorithm,
            bits: k.bits,
            added: twostep_auth::utc(k.created_at),
            options: k.options.clone(),
        })
        .collect();
    Ok(KeysPage {
        page: Page::new(state, Some(s), csrf).notice(notice),
        ssh_hint: state.auth.settings().ssh_hint.clone(),
        fingerprint: state.auth.settings().ssh_fingerprint.clone(),
        keys,
        title: String::new(),
        key: String::new(),
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
struct AddForm {
    csrf: String,
    #[serde(default)]
    title: String,
    key: String,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

async fn add(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    FormBody(f): FormBody<AddForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    let proof = twostep_auth::Proof::from_fields(f.code.as_deref(), f.password.as_deref());
    match state
        .auth
        .credentials()
        .add_ssh_key(&s, &f.title, &f.key, &proof, &ctx)
        .await
    {
        Ok(_) => Ok(Redirect::to("/account/ssh-keys?n=key-added").into_response()),
        Err(e) => {
            let mut p = page(&state, &s, &csrf, None).await?;
            let (status, error) = form_failure(e)?;
            p.error = Some(error);
            p.title = f.title;
            p.key = f.key;
            render_status(status, &p)
        }
    }
}

async fn remove(
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
        .remove_ssh_key(&s, &id, &f.proof(), &ctx)
        .await?;
    Ok(Redirect::to("/account/ssh-keys?n=key-removed").into_response())
}
