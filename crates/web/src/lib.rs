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
mod git_http;
mod guard;
mod health;
mod input;
mod oauth;
mod pages;
pub mod parse;
mod qr;
pub mod server;
mod session;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use twostep_auth::AuthService;

pub use error::Error;

/// Requests larger than this are refused before any handler runs.
const MAX_BODY: usize = 64 * 1024;

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
        .nest("/api/v1", api::router().layer(timeout()))
        .merge(git_http::router())
        .merge(health::router())
        .merge(oauth::router().layer(timeout()))
        .merge(pages::router(state.clone()).layer(timeout()))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::guard,
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}
