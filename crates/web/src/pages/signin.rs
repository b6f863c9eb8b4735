use crate::routes::{Routes, Surface};
use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use twostep_auth::Action;
use twostep_auth::SignInOutcome;

use super::{
    form_errors, form_failure, render, render_status, safe_next, server_time, CodeForm, CsrfForm,
    FormBody, FormError, Page,
};
use crate::csrf::Csrf;
use crate::session::{
    clear_session_cookie, session_cookie, signed_in, token_of, AnySession, MaybeSignedIn, Web,
};
use crate::{AppState, Error};

pub fn routes() -> Routes {
    Routes::new(Surface::Page)
        .get("/signin", Action::SignIn, form)
        .post("/signin", Action::SignIn, submit)
        .get("/signin/second-step", Action::SecondStep, second_form)
        .post("/signin/second-step", Action::SecondStep, second_submit)
        .post("/signout", Action::SignOut, sign_out)
}

#[derive(Template)]
#[template(path = "signin.html")]
struct SignInPage {
    page: Page,
    login: String,
    next: String,
    /// The OpenID Connect providers.
    providers: Vec<super::oidc::ProviderChoice>,
    error: Option<FormError>,
}
form_errors!(SignInPage);

fn providers(state: &AppState) -> Vec<super::oidc::ProviderChoice> {
    state
        .auth
        .providers()
        .oidc_providers()
        .iter()
        .map(super::oidc::ProviderChoice::of)
        .collect()
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
    n: Option<String>,
}

async fn form(
    State(state): State<AppState>,
    MaybeSignedIn(s): MaybeSignedIn,
    csrf: Csrf,
    Query(q): Query<NextQuery>,
) -> Result<Response, Error> {
    render(&SignInPage {
        page: Page::new(&state, s.as_ref(), &csrf).notice(q.n.as_deref()),
        login: String::new(),
        providers: providers(&state),
        next: safe_next(&state, q.next.as_deref()),
        error: None,
    })
}

#[derive(Deserialize)]
struct SignInForm {
    csrf: String,
    login: String,
    password: String,
    next: Option<String>,
}

async fn submit(
    State(state): State<AppState>,
    csrf: Csrf,
    Web(ctx): Web,
    jar: CookieJar,
    FormBody(f): FormBody<SignInForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    let next = safe_next(&state, f.next.as_deref());
    match state
        .auth
        .signin()
        .sign_in(&f.login, &f.password, &ctx)
        .await
    {
        Ok(SignInOutcome::SignedIn { token, user }) => {
            // After an administrator's reset, signing in goes into the setup.
            let to = if user.two_step_reset_by_admin {
                "/account/two-step?n=two-step-reset"
            } else {
                &next
            };
            Ok((
                signed_in(jar, &state, token, &user.id, &ctx),
                Redirect::to(to),
            )
                .into_response())
        }
        Ok(SignInOutcome::SecondStep { token, .. }) => {
            let to = format!(
                "/signin/second-step?next={}",
                percent_encoding::utf8_percent_encode(&next, percent_encoding::NON_ALPHANUMERIC)
            );
            Ok((
                jar.add(session_cookie(token, state.secure_cookies)),
                Redirect::to(&to),
            )
                .into_response())
        }
        Err(e) => {
            let (status, error) = form_failure(e)?;
            render_status(
                status,
                &SignInPage {
                    page: Page::new(&state, None, &csrf),
                    login: f.login,
                    providers: providers(&state),
                    next,
                    error: Some(error),
                },
            )
        }
    }
}

/// The second factors an account has, to offer at its second step.
struct Has {
    key: bool,
    /// An authenticator app (or token): with none, the key leads.
    app: bool,
}

impl Has {
    async fn of(state: &AppState, user: &twostep_auth::UserId) -> Result<Has, Error> {
        let f = state.auth.factors();
        Ok(Has {
            key: !f.security_keys(user).await?.is_empty(),
            app: !f.two_step_status(user).await?.authenticators.is_empty(),
        })
    }
}

#[derive(Template)]
#[template(path = "second_step.html")]
struct SecondStepPage {
    page: Page,
    username: String,
    next: String,
    server_time: String,
    has: Has,
    /// Show the recovery-code form open (the last try was one).
    recovery_open: bool,
    /// The second step is locked or closed now: said before any code.
    lock: Option<String>,
    error: Option<FormError>,
}
form_errors!(SecondStepPage);

async fn second_form(
    State(state): State<AppState>,
    AnySession(s): AnySession,
    csrf: Csrf,
    Query(q): Query<NextQuery>,
) -> Result<Response, Error> {
    let Some(s) = s.filter(|s| !s.complete) else {
        return Ok(Redirect::to("/signin").into_response());
    };
    render(&SecondStepPage {
        page: Page::new(&state, Some(&s), &csrf),
        username: s.user.username.clone(),
        next: safe_next(&state, q.next.as_deref()),
        server_time: server_time(&state),
        has: Has::of(&state, &s.user.id).await?,
        recovery_open: false,
        lock: state
            .auth
            .signin()
            .second_step_lock(&s.user.id)
            .await?
            .map(|l| l.message()),
        error: None,
    })
}

async fn second_submit(
    State(state): State<AppState>,
    AnySession(s): AnySession,
    csrf: Csrf,
    Web(ctx): Web,
    jar: CookieJar,
    FormBody(f): FormBody<CodeForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    let next = safe_next(&state, f.next.as_deref());
    let (Some(s), Some(token)) = (s.filter(|s| !s.complete), token_of(&state, &jar)) else {
        return Ok(Redirect::to("/signin").into_response());
    };
    match state.auth.signin().second_step(&token, &f.code, &ctx).await {
        Ok((new_token, user)) => Ok((
            signed_in(jar, &state, new_token, &user.id, &ctx),
            Redirect::to(&next),
        )
            .into_response()),
        Err(e) => {
            let (status, error) = form_failure(e)?;
            let has = Has::of(&state, &s.user.id).await?;
            render_status(
                status,
                &SecondStepPage {
                    page: Page::new(&state, Some(&s), &csrf),
                    username: s.user.username.clone(),
                    next,
                    server_time: server_time(&state),
                    has,
                    recovery_open: f.code.chars().any(|c| c.is_ascii_alphabetic()),
                    // The refusal says it already.
                    lock: None,
                    error: Some(error),
                },
            )
        }
    }
}

async fn sign_out(
    State(state): State<AppState>,
    csrf: Csrf,
    Web(ctx): Web,
    jar: CookieJar,
    FormBody(f): FormBody<CsrfForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    if let Some(token) = token_of(&state, &jar) {
        state.auth.signin().sign_out(&token, &ctx).await?;
    }
    Ok((
        jar.add(clear_session_cookie(state.secure_cookies)),
        Redirect::to("/signin?n=signed-out"),
    )
        .into_response())
}
