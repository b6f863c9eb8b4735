//! OAuth 2.0 in the browser: the consent page (`/oauth/authorize`, a fully
//! signed-in session only), and the account's authorised applications.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use twostep_auth::{AuthService, AuthorizeError, AuthorizeRequest};

use super::{render, FormBody, NoticeQuery, Page};
use crate::csrf::Csrf;
use crate::session::{SignedIn, Web};
use crate::{AppState, Error};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/oauth/authorize", get(consent).post(decide))
        .route("/oauth/device", get(device_page).post(device_decide))
        .route("/account/applications", get(applications))
        .route("/account/applications/{id}/revoke", post(revoke))
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
    match state.auth.check_authorize(&p.request()).await {
        Ok(c) => render(&ConsentPage {
            page: Page::new(&state, Some(&s), &csrf),
            app: c.app_name,
            owner: c.owner,
            scopes: c.scopes.iter().map(|s| s.as_str()).collect(),
            p,
        }),
        Err(e) => refused(e),
    }
}

#[derive(Deserialize)]
struct DecisionForm {
    csrf: String,
    decision: String,
    #[serde(flatten)]
    p: AuthorizeParams,
}

async fn decide(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    FormBody(f): FormBody<DecisionForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    let req = f.p.request();
    let url = if f.decision == "approve" {
        match state.auth.approve_authorize(&s, &req, &ctx).await {
            Ok(url) => url,
            Err(e) => return refused(e),
        }
    } else {
        // Denying tells the client only once its redirect URI checks out.
        if let Err(e) = state.auth.check_authorize(&req).await {
            return refused(e);
        }
        AuthService::deny_authorize(&req)
    };
    render(&BackPage {
        page: Page::new(&state, Some(&s), &csrf),
        url,
    })
}

#[derive(Template)]
#[template(path = "applications.html")]
struct ApplicationsPage {
    page: Page,
    /// grant id, application, scopes, authorised (UTC)
    authorized: Vec<(String, String, String, String)>,
    /// client id, name, kind, redirect URIs
    registered: Vec<(String, String, &'static str, String)>,
}

async fn applications(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, Error> {
    let authorized = state
        .auth
        .authorized_apps(&s.user.id)
        .await?
        .into_iter()
        .map(|(g, name)| (g.id, name, g.scopes, twostep_auth::utc(g.created_at)))
        .collect();
    let registered = state
        .auth
        .oauth_apps(&s.user.id)
        .await?
        .into_iter()
        .map(|a| {
            (
                a.id,
                a.name,
                if a.confidential != 0 {
                    "confidential"
                } else {
                    "public"
                },
                a.redirect_uris.replace('\n', " "),
            )
        })
        .collect();
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
    state.auth.revoke_authorized_app(&s, &id, &ctx).await?;
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
    error: Option<String>,
}

async fn device_page(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Query(q): Query<DeviceQuery>,
) -> Result<Response, Error> {
    let (consent, error) = if q.user_code.trim().is_empty() {
        (None, None)
    } else {
        match state.auth.device_consent(&s, &q.user_code).await {
            Ok(c) => (
                Some((
                    c.app_name,
                    c.owner,
                    c.scopes.iter().map(|s| s.as_str()).collect(),
                )),
                None,
            ),
            Err(e) => (None, Some(e.to_string())),
        }
    };
    render(&DevicePage {
        page: Page::new(&state, Some(&s), &csrf),
        user_code: twostep_auth::normalise_user_code(&q.user_code),
        consent,
        error,
    })
}

#[derive(Deserialize)]
struct DeviceForm {
    csrf: String,
    user_code: String,
    decision: String,
}

async fn device_decide(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    FormBody(f): FormBody<DeviceForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    let approve = f.decision == "approve";
    let app = state
        .auth
        .decide_device(&s, &f.user_code, approve, &ctx)
        .await?;
    render(&super::signup::Message {
        page: Page::new(&state, Some(&s), &csrf),
        heading: if approve {
            "Device authorised".into()
        } else {
            "Not authorised".into()
        },
        paragraphs: vec![if approve {
            format!("{app} is authorised: go back to your device, it goes on by itself.")
        } else {
            format!("{app} was not authorised.")
        }],
        link: None,
    })
}
