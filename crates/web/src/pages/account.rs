use crate::routes::{Routes, Surface};
use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use twostep_auth::Action;
use twostep_auth::{Proof, SessionInfo};

use super::{form_errors, refused, render, safe_next, FormBody, FormError, NoticeQuery, Page};
use crate::csrf::Csrf;
use crate::session::{SignedIn, Web};
use crate::{AppState, Error};

pub fn routes() -> Routes {
    Routes::new(Surface::Page)
        .get("/account", Action::ViewAccount, show)
        .post("/account/password", Action::ChangePassword, change_password)
        .post("/account/email", Action::ChangeEmail, change_email)
        .get(
            "/account/email/confirm",
            Action::RedeemLink,
            confirm_email_change,
        )
        .get("/account/confirm", Action::ViewAccount, confirm_form)
        .post("/account/confirm", Action::ConfirmIdentity, confirm)
        .post(
            "/account/sign-out-everywhere",
            Action::SignOutEverywhere,
            sign_out_everywhere,
        )
}

#[derive(Template)]
#[template(path = "confirm.html")]
struct ConfirmPage {
    page: Page,
    next: String,
    two_step_on: bool,
    has_key: bool,
    /// The sign-in providers linked to the account that can confirm it.
    providers: Vec<super::oidc::ProviderChoice>,
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
            has_key: !state
                .auth
                .factors()
                .security_keys(&s.user.id)
                .await?
                .is_empty(),
            providers: super::oidc::confirming_providers(state, &s.user.id).await?,
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
    if proof == Proof::None && state.auth.signin().in_sudo(&s) {
        return Ok(Redirect::to(&next).into_response());
    }
    match state.auth.signin().confirm_identity(&s, &proof, &ctx).await {
        Ok(_) => Ok(Redirect::to(&next).into_response()),
        Err(e) => refused(e, ConfirmPage::new(&state, &s, &csrf, &next)).await,
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
    has_password: bool,
    /// Which form the error belongs to: "password" or "email".
    form: &'static str,
    error: Option<FormError>,
}
form_errors!(AccountPage);

impl AccountPage {
    fn new(state: &AppState, s: &SessionInfo, csrf: &Csrf) -> AccountPage {
        AccountPage {
            page: Page::new(state, Some(s), csrf),
            username: s.user.username.clone(),
            email: s.user.email.clone(),
            email_confirmed: s.user.email_confirmed_at.is_some(),
            two_step_on: s.user.two_step_enabled_at.is_some(),
            has_password: s.user.has_password,
            form: "",
            error: None,
        }
    }

    /// The error, if it belongs to `form`'s `field`.
    pub fn err_in(&self, form: &str, field: &str) -> Option<&str> {
        (self.form == form).then(|| self.err(field)).flatten()
    }
}

async fn show(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, Error> {
    let mut p = AccountPage::new(&state, &s, &csrf);
    p.page = p.page.notice(q.n.as_deref());
    render(&p)
}

#[derive(Deserialize)]
struct PasswordChangeForm {
    csrf: String,
    new_password: String,
    #[serde(default)]
    current_password: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

async fn change_password(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    FormBody(f): FormBody<PasswordChangeForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    let proof = Proof::from_fields(f.code.as_deref(), f.password.as_deref());
    match state
        .auth
        .accounts()
        .change_password(
            &s,
            f.current_password.as_deref(),
            &f.new_password,
            &proof,
            &ctx,
        )
        .await
    {
        Ok(()) => Ok(Redirect::to("/account?n=password-changed-here").into_response()),
        Err(e) => {
            let mut e: Error = e.into();
            // The policy speaks of "password": here that is the new one.
            if e.code == twostep_auth::WEAK_PASSWORD {
                e.field = Some("new_password");
            }
            let mut p = AccountPage::new(&state, &s, &csrf);
            p.form = "password";
            refused(e, async { Ok(p) }).await
        }
    }
}

#[derive(Deserialize)]
struct EmailChangeForm {
    csrf: String,
    email: String,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

async fn change_email(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    FormBody(f): FormBody<EmailChangeForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    let proof = Proof::from_fields(f.code.as_deref(), f.password.as_deref());
    match state
        .auth
        .accounts()
        .request_email_change(&s, &f.email, &proof, &ctx)
        .await
    {
        Ok(_) => Ok(Redirect::to("/account?n=email-change-sent").into_response()),
        Err(e) => {
            let mut p = AccountPage::new(&state, &s, &csrf);
            p.form = "email";
            refused(e, async { Ok(p) }).await
        }
    }
}

#[derive(Deserialize)]
struct ProofOnly {
    csrf: String,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

async fn sign_out_everywhere(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    FormBody(f): FormBody<ProofOnly>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    let proof = Proof::from_fields(f.code.as_deref(), f.password.as_deref());
    match state
        .auth
        .credentials()
        .sign_out_everywhere(&s, &proof, &ctx)
        .await
    {
        Ok(_) => Ok(Redirect::to("/account?n=signed-out-everywhere").into_response()),
        Err(e) => {
            let mut p = AccountPage::new(&state, &s, &csrf);
            p.form = "everywhere";
            refused(e, async { Ok(p) }).await
        }
    }
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

async fn confirm_email_change(
    State(state): State<AppState>,
    Web(ctx): Web,
    Query(q): Query<TokenQuery>,
) -> Result<Response, Error> {
    state
        .auth
        .accounts()
        .confirm_email_change(q.token.as_deref().unwrap_or(""), &ctx)
        .await?;
    Ok(Redirect::to("/account?n=email-changed").into_response())
}
