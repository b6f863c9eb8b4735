//! OAuth 2.0 in the browser: the consent page (`/oauth/authorize`, a fully
//! signed-in session only), and the account's authorised applications.

use crate::routes::{Routes, Surface};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use twostep_auth::Action;
use twostep_auth::{AuthorizeError, AuthorizeRequest, AuthorizedApp, RegisteredApp};

use super::{
    filters, form_errors, form_failure, render, render_status, FormBody, FormError, NoticeQuery,
    Page,
};
use crate::csrf::Csrf;
use crate::session::{SignedIn, Web};
use crate::{AppState, Error};

pub fn routes() -> Routes {
    Routes::new(Surface::Page)
        .get("/oauth/authorize", Action::ViewAccount, consent)
        .post("/oauth/authorize", Action::AuthorizeOAuthApp, decide)
        .post("/oauth/authorize/deny", Action::RevokeOAuthApp, deny)
        .get("/oauth/device", Action::ViewAccount, device_page)
        .post("/oauth/device", Action::AuthorizeOAuthApp, device_decide)
        .post("/oauth/device/deny", Action::RevokeOAuthApp, device_deny)
        .get("/account/applications", Action::ViewAccount, applications)
        .post(
            "/account/applications/{id}/revoke",
            Action::RevokeOAuthApp,
            revoke,
        )
}

#[derive(Deserialize, Default)]
struct AuthorizeParams {
    #[serde(default)]
    response_type: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    redirect_uri: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    code_challenge: String,
    #[serde(default)]
    code_challenge_method: String,
}

impl AuthorizeParams {
    /// The parameters again as a query string.
    fn query(&self) -> String {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", &self.response_type)
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("scope", &self.scope)
            .append_pair("state", &self.state)
            .append_pair("code_challenge", &self.code_challenge)
            .append_pair("code_challenge_method", &self.code_challenge_method)
            .finish()
    }

    fn request(&self) -> AuthorizeRequest {
        AuthorizeRequest {
            response_type: self.response_type.clone(),
            client_id: self.client_id.clone(),
            redirect_uri: self.redirect_uri.clone(),
            scope: self.scope.clone(),
            state: self.state.clone(),
            code_challenge: self.code_challenge.clone(),
            code_challenge_method: self.code_challenge_method.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "oauth_consent.html")]
struct ConsentPage {
    page: Page,
    app: String,
    owner: String,
    scopes: Vec<&'static str>,
    p: AuthorizeParams,
    /// Where "confirm it is you" comes back to (this very request).
    confirm_next: String,
    error: Option<FormError>,
}
form_errors!(ConsentPage);

impl ConsentPage {
    async fn of(
        state: &AppState,
        s: &twostep_auth::SessionInfo,
        csrf: &Csrf,
        p: AuthorizeParams,
    ) -> Result<Result<ConsentPage, Response>, Error> {
        match state.auth.oauth().check_authorize(&p.request()).await {
            Ok(c) => Ok(Ok(ConsentPage {
                page: Page::new(state, Some(s), csrf),
                app: c.app_name,
                owner: c.owner,
                scopes: c.scopes.iter().map(|s| s.as_str()).collect(),
                confirm_next: format!("/oauth/authorize?{}", p.query()),
                p,
                error: None,
            })),
            Err(e) => refused(e).map(Err),
        }
    }
}

/// The client is sent back by a page that moves on by itself: a form's
/// answer may not redirect to another origin (CSP form-action 'self').
#[derive(Template)]
#[template(path = "oauth_back.html")]
struct BackPage {
    page: Page,
    url: String,
}

fn refused(e: AuthorizeError) -> Result<Response, Error> {
    match e {
        AuthorizeError::Show(e) => Err(e.into()),
        AuthorizeError::Redirect(url) => Ok(Redirect::to(&url).into_response()),
    }
}

async fn consent(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Query(p): Query<AuthorizeParams>,
) -> Result<Response, Error> {
    match ConsentPage::of(&state, &s, &csrf, p).await? {
        Ok(page) => render(&page),
        Err(back) => Ok(back),
    }
}

#[derive(Deserialize)]
struct DecisionForm {
    csrf: String,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(flatten)]
    p: AuthorizeParams,
}

/// Approving makes a credential: the gate asked for a fresh proof, which the
/// form carries when the session is not in sudo mode.
async fn decide(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    FormBody(f): FormBody<DecisionForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    let req = f.p.request();
    let proof = twostep_auth::Proof::from_fields(f.code.as_deref(), f.password.as_deref());
    match state
        .auth
        .oauth()
        .approve_authorize(&s, &req, &proof, &ctx)
        .await
    {
        Ok(url) => render(&BackPage {
            page: Page::new(&state, Some(&s), &csrf),
            url,
        }),
        Err(AuthorizeError::Show(e)) if e.field().is_some() => {
            let (status, error) = form_failure(e)?;
            match ConsentPage::of(&state, &s, &csrf, f.p).await? {
                Ok(mut page) => {
                    page.page = Page::new(&state, Some(&s), &csrf);
                    page.error = Some(error);
                    render_status(status, &page)
                }
                Err(back) => Ok(back),
            }
        }
        Err(e) => refused(e),
    }
}

#[derive(Deserialize)]
struct DenyForm {
    csrf: String,
    #[serde(flatten)]
    p: AuthorizeParams,
}

/// "Cancel": the client is told, once its redirect URI checks out.
async fn deny(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    FormBody(f): FormBody<DenyForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    let req = f.p.request();
    if let Err(e) = state.auth.oauth().check_authorize(&req).await {
        return refused(e);
    }
    render(&BackPage {
        page: Page::new(&state, Some(&s), &csrf),
        url: twostep_auth::deny_authorize(&req),
    })
}

#[derive(Template)]
#[template(path = "applications.html")]
struct ApplicationsPage {
    page: Page,
    authorized: Vec<AuthorizedApp>,
    registered: Vec<RegisteredApp>,
}

async fn applications(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, Error> {
    let authorized = state.auth.oauth().authorized_apps(&s.user.id).await?;
    let registered = state.auth.oauth().oauth_apps(&s.user.id).await?;
    render(&ApplicationsPage {
        page: Page::new(&state, Some(&s), &csrf).notice(q.n.as_deref()),
        authorized,
        registered,
    })
}

#[derive(Deserialize)]
struct CsrfOnly {
    csrf: String,
}

async fn revoke(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    Path(id): Path<String>,
    FormBody(f): FormBody<CsrfOnly>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    state
        .auth
        .oauth()
        .revoke_authorized_app(&s, &id, &ctx)
        .await?;
    Ok(Redirect::to("/account/applications?n=application-revoked").into_response())
}

#[derive(Deserialize, Default)]
struct DeviceQuery {
    #[serde(default)]
    user_code: String,
}

#[derive(Template)]
#[template(path = "oauth_device.html")]
struct DevicePage {
    page: Page,
    user_code: String,
    /// Set once a live code is entered: what approving grants.
    consent: Option<(String, String, Vec<&'static str>)>,
    confirm_next: String,
    error: Option<FormError>,
}
form_errors!(DevicePage);

async fn device_view(
    state: &AppState,
    s: &twostep_auth::SessionInfo,
    csrf: &Csrf,
    user_code: &str,
) -> Result<DevicePage, Error> {
    let (consent, error) = if user_code.trim().is_empty() {
        (None, None)
    } else {
        match state.auth.oauth().device_consent(s, user_code).await {
            Ok(c) => (
                Some((
                    c.app_name,
                    c.owner,
                    c.scopes.iter().map(|s| s.as_str()).collect(),
                )),
                None,
            ),
            Err(e) => (None, Some(form_failure(e)?.1)),
        }
    };
    let user_code = twostep_auth::normalise_user_code(user_code);
    Ok(DevicePage {
        page: Page::new(state, Some(s), csrf),
        confirm_next: format!(
            "/oauth/device?{}",
            form_urlencoded::Serializer::new(String::new())
                .append_pair("user_code", &user_code)
                .finish()
        ),
        user_code,
        consent,
        error,
    })
}

async fn device_page(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Query(q): Query<DeviceQuery>,
) -> Result<Response, Error> {
    render(&device_view(&state, &s, &csrf, &q.user_code).await?)
}

#[derive(Deserialize)]
struct DeviceForm {
    csrf: String,
    user_code: String,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

async fn device_decide(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    FormBody(f): FormBody<DeviceForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    let proof = twostep_auth::Proof::from_fields(f.code.as_deref(), f.password.as_deref());
    match state
        .auth
        .oauth()
        .decide_device(&s, &f.user_code, true, &proof, &ctx)
        .await
    {
        Ok(app) => device_done(&state, &s, &csrf, &app, true),
        Err(e) => super::refused(e, device_view(&state, &s, &csrf, &f.user_code)).await,
    }
}

#[derive(Deserialize)]
struct DeviceDenyForm {
    csrf: String,
    user_code: String,
}

async fn device_deny(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    FormBody(f): FormBody<DeviceDenyForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    let app = state
        .auth
        .oauth()
        .decide_device(&s, &f.user_code, false, &twostep_auth::Proof::None, &ctx)
        .await?;
    device_done(&state, &s, &csrf, &app, false)
}

fn device_done(
    state: &AppState,
    s: &twostep_auth::SessionInfo,
    csrf: &Csrf,
    app: &str,
    approved: bool,
) -> Result<Response, Error> {
    render(&super::signup::Message {
        page: Page::new(state, Some(s), csrf),
        heading: if approved {
            "Device authorised".into()
        } else {
            "Not authorised".into()
        },
        paragraphs: vec![if approved {
            format!("{app} is authorised: go back to your device, it goes on by itself.")
        } else {
            format!("{app} was not authorised.")
        }],
        link: None,
    })
}
