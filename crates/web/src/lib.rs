//! HTTP front-end: web pages (askama, no JavaScript needed), the JSON API
//! under /api/v1 with its OpenAPI document. Handlers only parse, call the
//! auth service and shape the answer.

mod api;

/// The OpenAPI document of /api/v1, as served at /api/v1/openapi.json.
pub fn openapi_json() -> String {
    api::openapi_document()
}
mod csrf;
mod error;
mod gate;
mod git_http;
mod guard;
mod health;
mod input;
mod oauth;
mod pages;
pub mod parse;
mod qr;
pub mod routes;
pub mod server;
mod session;
mod timing;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use twostep_auth::AuthService;

pub use error::Error;

/// Every route the server answers, with the action it reaches, as the
/// router is built from them (for the route matrix test and the README).
pub fn declared_routes() -> Vec<routes::Declared> {
    let mut all = api::routes().declared("/api/v1");
    all.extend(git_http::router().declared(""));
    all.extend(health::router().declared(""));
    all.extend(oauth::router().declared(""));
    all.extend(pages::routes().declared(""));
    all
}

/// The first parts of the server's own addresses (and its static folder):
/// no user or workspace may be named like one, since `/OWNER/REPO.git`
/// shares the root with them. Taken from the routes as declared, so a new
/// route cannot collide with a name.
pub fn reserved_names() -> Vec<String> {
    let mut names: Vec<String> = declared_routes()
        .iter()
        .filter_map(|d| d.path.trim_start_matches('/').split('/').next())
        .filter(|s| !s.is_empty() && !s.starts_with('{'))
        .map(str::to_ascii_lowercase)
        .collect();
    names.push("static".into());
    names.sort();
    names.dedup();
    names
}

/// The marker header on every answer the gate refused.
pub use gate::REFUSED_HEADER;

/// Requests larger than this are refused before any handler runs.
pub(crate) const MAX_BODY: usize = 64 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub auth: AuthService,
    /// Cookies get `Secure` when the public URL is https.
    pub secure_cookies: bool,
}

/// Pages and API answers are due within this (Git transfers may take longer).
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

pub fn router(state: AppState) -> Router {
    let timeout = || {
        tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        )
    };
    Router::new()
        .nest("/api/v1", api::router(&state).layer(timeout()))
        .merge(git_http::router().into_router(&state))
        .merge(health::router().into_router(&state))
        .merge(oauth::router().into_router(&state).layer(timeout()))
        .merge(pages::router(state.clone()).layer(timeout()))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::guard,
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .layer(axum::middleware::from_fn(timing::record))
        .with_state(state)
}
