//! Self-service recovery on the pages: started after the password from the
//! second-step page (a mailed link), cancelled by the link in every mail,
//! finished once ready with the password and a fresh mailed link.

use crate::routes::{Routes, Surface};
use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use twostep_auth::Action;
use twostep_auth::{RecoveryStatus, SessionInfo};

use super::signup::Message;
use super::{
    form_errors, form_failure, render, render_status, CsrfForm, FormBody, FormError, Page,
};
use crate::csrf::Csrf;
use crate::session::{signed_in, AnySession, MaybeSignedIn, Web};
use crate::{AppState, Error};

pub fn routes() -> Routes {
    Routes::new(Surface::Page)
        .get("/signin/recover", Action::RecoveryFromSignIn, overview)
        .post("/signin/recover", Action::RecoveryFromSignIn, mail_start)
        .post(
            "/signin/recover/finish",
            Action::RecoveryFromSignIn,
            mail_finish,
        )
        .get("/recover/start", Action::RedeemLink, start_page)
        .post("/recover/start", Action::RedeemLink, start)
        .get("/recover/cancel", Action::RedeemLink, cancel_page)
        .post("/recover/cancel", Action::RedeemLink, cancel)
        .get("/recover/finish", Action::RedeemLink, finish_page)
        .post("/recover/finish", Action::RedeemLink, finish)
}

/// The session that gave the password and still owes the second step.
fn half(s: Option<SessionInfo>) -> Option<SessionInfo> {
    s.filter(|s| !s.complete)
}

#[derive(Template)]
#[template(path = "recover.html")]
struct Overview {
    page: Page,
    username: String,
    status: Option<RecoveryStatus>,
    wait: String,
    wait_with_proof: String,
    ssh_hint: String,
    error: Option<FormError>,
}
form_errors!(Overview);

async fn overview_page(
    state: &AppState,
    s: &SessionInfo,
    csrf: &Csrf,
    error: Option<FormError>,
) -> Result<Overview, Error> {
    let settings = state.auth.settings();
    Ok(Overview {
        page: Page::new(state, Some(s), csrf),
        username: s.user.username.clone(),
        status: state.auth.recovery().recovery_status(&s.user.id).await?,
        wait: twostep_core::words::span(settings.recovery_wait),
        wait_with_proof: twostep_core::words::span(settings.recovery_wait_with_proof),
        ssh_hint: settings.ssh_hint.clone(),
        error,
    })
}

async fn overview(
    State(state): State<AppState>,
    AnySession(s): AnySession,
    csrf: Csrf,
) -> Result<Response, Error> {
    let Some(s) = half(s) else {
        return Ok(Redirect::to("/signin?next=/signin/recover").into_response());
    };
    render(&overview_page(&state, &s, &csrf, None).await?)
}

fn check_email(
    state: &AppState,
    s: &SessionInfo,
    csrf: &Csrf,
    email: &str,
    what: &str,
) -> Result<Response, Error> {
    render(&Message {
        page: Page::new(state, Some(s), csrf),
        heading: "Check your email".into(),
        paragraphs: vec![format!("We sent a link to {email}. {what}")],
        link: None,
    })
}

async fn mail_start(
    State(state): State<AppState>,
    AnySession(s): AnySession,
    csrf: Csrf,
    Web(ctx): Web,
    FormBody(f): FormBody<CsrfForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    let Some(s) = half(s) else {
        return Ok(Redirect::to("/signin").into_response());
    };
    match state.auth.recovery().mail_recovery_link(&s, &ctx).await {
        Ok(email) => check_email(
            &state,
            &s,
            &csrf,
            &email,
            "Open it within one hour to start the recovery of your account.",
        ),
        Err(e) => {
            let (status, error) = form_failure(e)?;
            render_status(
                status,
                &overview_page(&state, &s, &csrf, Some(error)).await?,
            )
        }
    }
}

async fn mail_finish(
    State(state): State<AppState>,
    AnySession(s): AnySession,
    csrf: Csrf,
    Web(ctx): Web,
    FormBody(f): FormBody<CsrfForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    let Some(s) = half(s) else {
        return Ok(Redirect::to("/signin").into_response());
    };
    match state.auth.recovery().mail_finish_link(&s, &ctx).await {
        Ok(email) => check_email(
            &state,
            &s,
            &csrf,
            &email,
            "Open it in this browser within one hour to finish recovering your account.",
        ),
        Err(e) => {
            let (status, error) = form_failure(e)?;
            render_status(
                status,
                &overview_page(&state, &s, &csrf, Some(error)).await?,
            )
        }
    }
}

#[derive(Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
    #[serde(default)]
    request: String,
}

/// A page with one button, so that a mail scanner opening the link does nothing.
#[derive(Template)]
#[template(path = "recover_confirm.html")]
struct ConfirmPage {
    page: Page,
    heading: String,
    text: String,
    action: String,
    button: String,
    token: String,
    request: String,
    danger: bool,
}

async fn start_page(
    State(state): State<AppState>,
    MaybeSignedIn(s): MaybeSignedIn,
    csrf: Csrf,
    Query(q): Query<TokenQuery>,
) -> Result<Response, Error> {
    render(&ConfirmPage {
        page: Page::new(&state, s.as_ref(), &csrf),
        heading: "Start recovering your account".into(),
        text: "This starts the waiting period after which you can remove the lost second factors and set up new ones. We will mail you every day until then; any code, recovery code or security key used on the account cancels it.".into(),
        action: "/recover/start".into(),
        button: "Start the recovery".into(),
        token: q.token,
        request: String::new(),
        danger: false,
    })
}

#[derive(Deserialize)]
struct TokenForm {
    csrf: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    request: String,
}

async fn start(
    State(state): State<AppState>,
    MaybeSignedIn(s): MaybeSignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    FormBody(f): FormBody<TokenForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    let st = state.auth.recovery().start_recovery(&f.token, &ctx).await?;
    let proof = if st.with_proof {
        "This browser has signed in to the account before, so the wait is the shorter one."
    } else {
        "Waiting is shorter when you also confirm with one of your SSH keys: run the SSH command on the help page."
    };
    render(&Message {
        page: Page::new(&state, s.as_ref(), &csrf),
        heading: "Recovery started".into(),
        paragraphs: vec![
            format!("Your account can be recovered from {} UTC. Then sign in with your password and choose \"I lost my authenticator and my recovery codes\" again: we will mail you the link that finishes it.", st.ready_utc),
            proof.into(),
            "Every mail about it has a link to cancel it.".into(),
        ],
        link: Some(("/help/recovery".into(), "All the ways back in".into())),
    })
}

async fn cancel_page(
    State(state): State<AppState>,
    MaybeSignedIn(s): MaybeSignedIn,
    csrf: Csrf,
    Query(q): Query<TokenQuery>,
) -> Result<Response, Error> {
    render(&ConfirmPage {
        page: Page::new(&state, s.as_ref(), &csrf),
        heading: "Cancel the recovery of your account".into(),
        text: "Someone asked to recover your account without its second factors. If it was not you, cancel it here, then change your password: whoever asked knows it.".into(),
        action: "/recover/cancel".into(),
        button: "Cancel the recovery".into(),
        token: q.token,
        request: q.request,
        danger: true,
    })
}

async fn cancel(
    State(state): State<AppState>,
    MaybeSignedIn(s): MaybeSignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    FormBody(f): FormBody<TokenForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    state
        .auth
        .recovery()
        .cancel_recovery_by_link(&f.request, &f.token, &ctx)
        .await?;
    render(&Message {
        page: Page::new(&state, s.as_ref(), &csrf),
        heading: "Recovery cancelled".into(),
        paragraphs: vec![
            "Nothing was changed on your account.".into(),
            "Whoever asked for it knows your password: change it now.".into(),
        ],
        link: Some(("/password/forgot".into(), "Reset your password".into())),
    })
}

async fn finish_page(
    State(state): State<AppState>,
    AnySession(s): AnySession,
    csrf: Csrf,
    Query(q): Query<TokenQuery>,
) -> Result<Response, Error> {
    let Some(s) = half(s) else {
        return Err(Error::from(twostep_auth::AuthError::Forbidden(
            "Open this link in the browser where you entered your password for the recovery."
                .into(),
        )));
    };
    render(&ConfirmPage {
        page: Page::new(&state, Some(&s), &csrf),
        heading: "Finish recovering your account".into(),
        text: "This removes your old authenticators, security keys and recovery codes, signs out every other session and revokes your app passwords. Then you set up a new authenticator.".into(),
        action: "/recover/finish".into(),
        button: "Recover my account".into(),
        token: q.token,
        request: String::new(),
        danger: true,
    })
}

async fn finish(
    State(state): State<AppState>,
    AnySession(s): AnySession,
    csrf: Csrf,
    Web(ctx): Web,
    jar: CookieJar,
    FormBody(f): FormBody<TokenForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    let Some(s) = half(s) else {
        return Err(Error::from(twostep_auth::AuthError::Forbidden(
            "Open this link in the browser where you entered your password for the recovery."
                .into(),
        )));
    };
    let (token, account) = state
        .auth
        .recovery()
        .finish_recovery(&s, &f.token, &ctx)
        .await?;
    let jar = signed_in(jar, &state, token.clone(), &account.id, &ctx);
    // Straight into a new authenticator, when the checklist allows it.
    let next = match state.auth.signin().session(&token).await? {
        Some(fresh) if state.auth.factors().begin_setup(&fresh, &ctx).await.is_ok() => {
            "/account/two-step/setup"
        }
        _ => "/account/two-step?n=recovered",
    };
    Ok((jar, Redirect::to(next)).into_response())
}
