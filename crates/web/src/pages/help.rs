use crate::routes::{Routes, Surface};
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use twostep_auth::Action;

use super::{render, Page};
use crate::csrf::Csrf;
use crate::session::MaybeSignedIn;
use crate::{AppState, Error};

pub fn routes() -> Routes {
    Routes::new(Surface::Page)
        .get("/help/recovery", Action::ReadPublic, recovery)
        .get("/help/security-keys", Action::ReadPublic, security_keys)
}

#[derive(Template)]
#[template(path = "help_security_keys.html")]
struct SecurityKeysHelp {
    page: Page,
    ssh_hint: String,
}

/// Which factor to choose and why, the workspace ladder, FIDO SSH keys and
/// SSH certificates.
async fn security_keys(
    State(state): State<AppState>,
    MaybeSignedIn(s): MaybeSignedIn,
    csrf: Csrf,
) -> Result<Response, Error> {
    render(&SecurityKeysHelp {
        page: Page::new(&state, s.as_ref(), &csrf),
        ssh_hint: state.auth.settings().ssh_hint.clone(),
    })
}

#[derive(Template)]
#[template(path = "help_recovery.html")]
struct RecoveryHelp {
    page: Page,
    ssh_hint: String,
    wait: String,
    wait_with_proof: String,
    /// Sign-in providers are configured: their accounts' way back shows.
    providers: bool,
}

use twostep_core::words::span;

async fn recovery(
    State(state): State<AppState>,
    MaybeSignedIn(s): MaybeSignedIn,
    csrf: Csrf,
) -> Result<Response, Error> {
    render(&RecoveryHelp {
        page: Page::new(&state, s.as_ref(), &csrf),
        ssh_hint: state.auth.settings().ssh_hint.clone(),
        wait: span(state.auth.settings().recovery_wait),
        wait_with_proof: span(state.auth.settings().recovery_wait_with_proof),
        providers: !state.auth.providers().oidc_providers().is_empty(),
    })
}
