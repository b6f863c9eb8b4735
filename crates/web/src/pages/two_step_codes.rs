//! Recovery codes: shown once, downloadable and printable for a short while, regenerated.

use crate::routes::{Routes, Surface};
use askama::Template;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use twostep_auth::Action;
use twostep_auth::{RecoveryCode, SessionInfo};

use super::{
    form_errors, form_failure, refused, render, render_status, CodeForm, FormBody, FormError, Page,
};
use crate::csrf::Csrf;
use crate::session::{SignedIn, Web};
use crate::{AppState, Error};

pub fn routes() -> Routes {
    Routes::new(Surface::Page)
        .get(
            "/account/two-step/recovery-codes",
            Action::ViewAccount,
            overview,
        )
        .post(
            "/account/two-step/recovery-codes",
            Action::NewRecoveryCodes,
            regenerate,
        )
        .get(
            "/account/two-step/recovery-codes/saved",
            Action::SetUpTwoStep,
            saved_page,
        )
        .post(
            "/account/two-step/recovery-codes/saved",
            Action::SetUpTwoStep,
            saved,
        )
        .get(
            "/account/two-step/recovery-codes.txt",
            Action::ViewAccount,
            download,
        )
        .get(
            "/account/two-step/recovery-codes/print",
            Action::ViewAccount,
            print,
        )
}

#[derive(Template)]
#[template(path = "codes.html")]
pub struct CodesPage {
    page: Page,
    heading: String,
    codes: Vec<String>,
    ssh_hint: String,
    /// The number of the code to type back.
    to_type: i64,
}

impl CodesPage {
    /// The page right after codes were made (the session's account is read
    /// again: it learnt which code to type back in this request).
    pub async fn new(
        state: &AppState,
        s: &SessionInfo,
        csrf: &Csrf,
        heading: &str,
        codes: &[RecoveryCode],
    ) -> Result<CodesPage, Error> {
        let account = state.auth.accounts().user(&s.user.id).await?;
        Ok(CodesPage {
            page: Page::new(state, Some(s), csrf),
            heading: heading.into(),
            codes: codes.iter().map(|c| c.display().to_string()).collect(),
            ssh_hint: state.auth.settings().ssh_hint.clone(),
            to_type: account.recovery_code_to_type.unwrap_or(1),
        })
    }
}

#[derive(Template)]
#[template(path = "codes_saved.html")]
struct SavedPage {
    page: Page,
    to_type: i64,
    error: Option<FormError>,
}
form_errors!(SavedPage);

async fn saved_page(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
) -> Result<Response, Error> {
    let Some(to_type) = s.user.recovery_code_to_type else {
        return Ok(Redirect::to("/account/two-step").into_response());
    };
    render(&SavedPage {
        page: Page::new(&state, Some(&s), &csrf),
        to_type,
        error: None,
    })
}

async fn saved(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    FormBody(f): FormBody<CodeForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    match state
        .auth
        .factors()
        .confirm_codes_saved(&s, &f.code, &ctx)
        .await
    {
        Ok(()) => Ok(Redirect::to("/account/two-step?n=codes-saved").into_response()),
        Err(e) => {
            let (status, mut error) = form_failure(e)?;
            error.field = "code";
            let Some(to_type) = s.user.recovery_code_to_type else {
                return Ok(Redirect::to("/account/two-step").into_response());
            };
            render_status(
                status,
                &SavedPage {
                    page: Page::new(&state, Some(&s), &csrf),
                    to_type,
                    error: Some(error),
                },
            )
        }
    }
}

#[derive(Template)]
#[template(path = "recovery_codes.html")]
struct Overview {
    page: Page,
    remaining: i64,
    revealed: bool,
    error: Option<FormError>,
}
form_errors!(Overview);

async fn overview_page(state: &AppState, s: &SessionInfo, csrf: &Csrf) -> Result<Overview, Error> {
    Ok(Overview {
        page: Page::new(state, Some(s), csrf),
        remaining: state
            .auth
            .factors()
            .recovery_codes_remaining(&s.user.id)
            .await?,
        revealed: state
            .auth
            .factors()
            .revealed_codes(s.token_hash().unwrap_or_default())
            .await?
            .is_some(),
        error: None,
    })
}

async fn overview(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
) -> Result<Response, Error> {
    render(&overview_page(&state, &s, &csrf).await?)
}

async fn regenerate(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    FormBody(f): FormBody<CodeForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    match state
        .auth
        .factors()
        .regenerate_recovery_codes(&s, &f.proof(), &ctx)
        .await
    {
        Ok(codes) => {
            render(&CodesPage::new(&state, &s, &csrf, "Your new recovery codes", &codes).await?)
        }
        Err(e) => refused(e, overview_page(&state, &s, &csrf)).await,
    }
}

fn expired() -> Error {
    Error::new(
        StatusCode::GONE,
        "codes_expired",
        "For your safety, recovery codes can be downloaded or printed only for 15 minutes after they are made, from the browser that made them. Generate a new set to download it.",
    )
}

async fn download(State(state): State<AppState>, SignedIn(s): SignedIn) -> Result<Response, Error> {
    let codes = state
        .auth
        .factors()
        .revealed_codes(s.token_hash().unwrap_or_default())
        .await?
        .ok_or_else(expired)?;
    let body = state
        .auth
        .factors()
        .recovery_text_file(&s.user.username, &codes);
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"twostep-recovery-codes.txt\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "codes_print.html")]
struct PrintPage {
    issuer: String,
    username: String,
    site: String,
    made: String,
    codes: Vec<String>,
}

async fn print(State(state): State<AppState>, SignedIn(s): SignedIn) -> Result<Response, Error> {
    let codes = state
        .auth
        .factors()
        .revealed_codes(s.token_hash().unwrap_or_default())
        .await?
        .ok_or_else(expired)?;
    let st = state.auth.settings();
    let mut res = render(&PrintPage {
        issuer: st.issuer.clone(),
        username: s.user.username.clone(),
        site: st.public_url.clone(),
        made: twostep_auth::utc(state.auth.now()),
        codes,
    })?;
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}
