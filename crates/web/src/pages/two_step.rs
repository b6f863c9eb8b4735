use crate::routes::{Routes, Surface};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use twostep_auth::Action;
use twostep_auth::{
    AuthenticatorSummary, SecurityKeyView, SessionInfo, SetupChecklist, SetupPurpose, VerifyOutcome,
};

use super::signup::Message;
use super::two_step_codes::CodesPage;
use super::{
    filters, form_errors, form_failure, refused, render, render_status, server_time, CodeForm,
    CsrfForm, FormBody, FormError, NoticeQuery, Page,
};
use crate::csrf::Csrf;
use crate::session::{SignedIn, Web};
use crate::{AppState, Error};

pub fn routes() -> Routes {
    Routes::new(Surface::Page)
        .get("/account/two-step", Action::ViewAccount, status)
        .get("/account/two-step/setup", Action::SetUpTwoStep, setup_page)
        .post("/account/two-step/setup", Action::SetUpTwoStep, setup_start)
        .get("/account/two-step/setup/qr.svg", Action::SetUpTwoStep, qr)
        .post(
            "/account/two-step/setup/verify",
            Action::SetUpTwoStep,
            verify,
        )
        .get(
            "/account/two-step/confirm",
            Action::SetUpTwoStep,
            confirm_page,
        )
        .post("/account/two-step/confirm", Action::SetUpTwoStep, confirm)
        .post("/account/two-step/replace", Action::ReplaceDevice, replace)
        .post(
            "/account/two-step/authenticators",
            Action::AddAuthenticator,
            add_authenticator,
        )
        .post(
            "/account/two-step/authenticators/{id}/remove",
            Action::RemoveAuthenticator,
            remove_authenticator,
        )
        .get(
            "/account/two-step/disable",
            Action::ViewAccount,
            disable_page,
        )
        .post("/account/two-step/disable", Action::DisableTwoStep, disable)
}

#[derive(Template)]
#[template(path = "two_step.html")]
struct StatusPage {
    page: Page,
    on: bool,
    enabled_at: String,
    checklist: SetupChecklist,
    authenticators: Vec<AuthenticatorSummary>,
    max_authenticators: usize,
    remaining: i64,
    in_progress: bool,
    awaiting: bool,
    locked_until: Option<String>,
    keys: Vec<SecurityKeyView>,
    /// This session's sign-in (or a confirmation since) used a key: what a
    /// workspace that requires keys asks of the pages.
    key_session: bool,
    error: Option<FormError>,
}
form_errors!(StatusPage);

async fn status_page(
    state: &AppState,
    s: &SessionInfo,
    csrf: &Csrf,
    notice: Option<&str>,
) -> Result<StatusPage, Error> {
    let user = state.auth.accounts().user(&s.user.id).await?;
    let st = state.auth.factors().two_step_status(&user.id).await?;
    Ok(StatusPage {
        page: Page::new(state, Some(s), csrf).notice(notice),
        on: st.enabled_at.is_some(),
        enabled_at: st.enabled_at.map(twostep_auth::utc).unwrap_or_default(),
        checklist: st.checklist,
        authenticators: st.authenticators,
        max_authenticators: twostep_auth::MAX_AUTHENTICATORS,
        remaining: st.recovery_codes_remaining,
        in_progress: st.setup_in_progress,
        awaiting: st.awaiting_confirmation,
        locked_until: st.locked_until.map(twostep_auth::utc),
        keys: state.auth.factors().security_keys(&user.id).await?,
        key_session: s.signed_in_key.is_some(),
        error: None,
    })
}

async fn status(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, Error> {
    render(&status_page(&state, &s, &csrf, q.n.as_deref()).await?)
}

async fn setup_start(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    FormBody(f): FormBody<CsrfForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    state.auth.factors().begin_setup(&s, &ctx).await?;
    Ok(Redirect::to("/account/two-step/setup").into_response())
}

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    page: Page,
    purpose: SetupPurpose,
    name: String,
    issuer: String,
    account: String,
    key: String,
    server_time: String,
    error: Option<FormError>,
}
form_errors!(SetupPage);

async fn setup_view(
    state: &AppState,
    s: &SessionInfo,
    csrf: &Csrf,
    error: Option<FormError>,
) -> Result<Option<SetupPage>, Error> {
    let Some(info) = state.auth.factors().current_setup(&s.user).await? else {
        return Ok(None);
    };
    Ok(Some(SetupPage {
        page: Page::new(state, Some(s), csrf),
        purpose: info.purpose,
        name: info.name,
        issuer: info.issuer,
        account: info.account,
        key: info.key,
        server_time: server_time(state),
        error,
    }))
}

async fn setup_page(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
) -> Result<Response, Error> {
    match setup_view(&state, &s, &csrf, None).await? {
        Some(p) => render(&p),
        None => Ok(Redirect::to("/account/two-step").into_response()),
    }
}

async fn qr(State(state): State<AppState>, SignedIn(s): SignedIn) -> Result<Response, Error> {
    let info = state
        .auth
        .factors()
        .current_setup(&s.user)
        .await?
        .ok_or_else(Error::not_found)?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        crate::qr::svg(&info.otpauth_uri),
    )
        .into_response())
}

async fn verify(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    FormBody(f): FormBody<CodeForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    match state.auth.factors().verify_setup(&s, &f.code, &ctx).await {
        Ok(VerifyOutcome::Replaced) => Ok(Redirect::to("/account/two-step?n=replaced").into_response()),
        Ok(VerifyOutcome::Added) => {
            Ok(Redirect::to("/account/two-step?n=authenticator-added").into_response())
        }
        Ok(VerifyOutcome::ConfirmationSent { email }) => render(&Message {
            page: Page::new(&state, Some(&s), &csrf),
            heading: "Check your email".into(),
            paragraphs: vec![
                format!("Your app works. We sent a confirmation link to {email}."),
                "Open it within one hour to turn two-step verification on; you will then get your recovery codes.".into(),
            ],
            link: Some(("/account/two-step".into(), "Back to two-step verification".into())),
        }),
        Err(e) => {
            let (status, error) = form_failure(e)?;
            match setup_view(&state, &s, &csrf, Some(error)).await? {
                Some(p) => render_status(status, &p),
                None => Ok(Redirect::to("/account/two-step").into_response()),
            }
        }
    }
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

#[derive(Template)]
#[template(path = "confirm_two_step.html")]
struct ConfirmPage {
    page: Page,
    username: String,
    token: String,
}

async fn confirm_page(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Query(q): Query<TokenQuery>,
) -> Result<Response, Error> {
    render(&ConfirmPage {
        page: Page::new(&state, Some(&s), &csrf),
        username: s.user.username.clone(),
        token: q.token.unwrap_or_default(),
    })
}

#[derive(Deserialize)]
struct TokenForm {
    csrf: String,
    token: String,
}

async fn confirm(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    FormBody(f): FormBody<TokenForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    let codes = state
        .auth
        .factors()
        .confirm_two_step(&s, &f.token, &ctx)
        .await?;
    render(&CodesPage::new(&state, &s, &csrf, "Two-step verification is on", &codes).await?)
}

async fn replace(
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
        .start_replace(&s, &f.proof(), &ctx)
        .await
    {
        Ok(_) => Ok(Redirect::to("/account/two-step/setup").into_response()),
        Err(e) => status_with_error(&state, &s, &csrf, e).await,
    }
}

#[derive(Deserialize)]
struct AddForm {
    csrf: String,
    name: String,
    #[serde(default)]
    code: String,
}

async fn add_authenticator(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    FormBody(f): FormBody<AddForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    let proof = twostep_auth::Proof::from_fields(Some(&f.code), None);
    match state
        .auth
        .factors()
        .start_add_authenticator(&s, &f.name, &proof, &ctx)
        .await
    {
        Ok(_) => Ok(Redirect::to("/account/two-step/setup").into_response()),
        Err(e) => status_with_error(&state, &s, &csrf, e).await,
    }
}

async fn remove_authenticator(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    Path(id): Path<String>,
    FormBody(f): FormBody<super::ProofForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    match state
        .auth
        .factors()
        .remove_authenticator(&s, &id, &f.proof(), &ctx)
        .await
    {
        Ok(()) => Ok(Redirect::to("/account/two-step?n=authenticator-removed").into_response()),
        Err(e) => status_with_error(&state, &s, &csrf, e).await,
    }
}

/// The two-step page again, with the refusal shown.
pub(super) async fn status_with_error(
    state: &AppState,
    s: &SessionInfo,
    csrf: &Csrf,
    e: twostep_auth::AuthError,
) -> Result<Response, Error> {
    refused(e, status_page(state, s, csrf, None)).await
}

#[derive(Template)]
#[template(path = "disable.html")]
struct DisablePage {
    page: Page,
    error: Option<FormError>,
}
form_errors!(DisablePage);

async fn disable_page(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
) -> Result<Response, Error> {
    render(&DisablePage {
        page: Page::new(&state, Some(&s), &csrf),
        error: None,
    })
}

#[derive(Deserialize)]
struct DisableForm {
    csrf: String,
    code: String,
    confirm: Option<String>,
}

async fn disable(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    FormBody(f): FormBody<DisableForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    let result = if f.confirm.as_deref() != Some("yes") {
        Err(Error {
            field: Some("confirm"),
            ..Error::bad_request(
                "Tick the box to confirm that you want to turn two-step verification off.",
            )
        })
    } else {
        state
            .auth
            .factors()
            .disable_two_step(
                &s,
                &twostep_auth::Proof::from_fields(Some(&f.code), None),
                &ctx,
            )
            .await
            .map_err(Error::from)
    };
    match result {
        Ok(()) => Ok(Redirect::to("/account/two-step?n=disabled").into_response()),
        Err(err) => {
            let (status, error) = form_failure(err)?;
            render_status(
                status,
                &DisablePage {
                    page: Page::new(&state, Some(&s), &csrf),
                    error: Some(error),
                },
            )
        }
    }
}
