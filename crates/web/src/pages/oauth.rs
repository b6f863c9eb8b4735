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
