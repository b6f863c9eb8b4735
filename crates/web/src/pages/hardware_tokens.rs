//! Claiming an imported hardware token: serial number and two consecutive codes.

use crate::routes::{Routes, Surface};
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use twostep_auth::Action;

use super::{form_errors, form_failure, render, render_status, FormBody, FormError, Page};
use crate::csrf::Csrf;
use crate::session::{SignedIn, Web};
use crate::{AppState, Error};

pub fn routes() -> Routes {
    Routes::new(Surface::Page)
        .get("/account/two-step/tokens", Action::ViewAccount, form)
        .post(
            "/account/two-step/tokens",
            Action::ClaimHardwareToken,
            claim,
        )
}

#[derive(Template)]
#[template(path = "claim_token.html")]
struct ClaimPage {
    page: Page,
    serial: String,
    error: Option<FormError>,
}
form_errors!(ClaimPage);

async fn form(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
) -> Result<Response, Error> {
    render(&ClaimPage {
        page: Page::new(&state, Some(&s), &csrf),
        serial: String::new(),
        error: None,
    })
}

#[derive(Deserialize)]
struct ClaimForm {
    csrf: String,
    serial: String,
    first_code: String,
    second_code: String,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

async fn claim(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    FormBody(f): FormBody<ClaimForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    let proof = twostep_auth::Proof::from_fields(f.code.as_deref(), f.password.as_deref());
    match state
        .auth
        .factors()
        .claim_token(&s, &f.serial, &f.first_code, &f.second_code, &proof, &ctx)
        .await
    {
        Ok(()) => Ok(Redirect::to("/account/two-step?n=authenticator-added").into_response()),
        Err(e) => {
            let (status, error) = form_failure(e)?;
            render_status(
                status,
                &ClaimPage {
                    page: Page::new(&state, Some(&s), &csrf),
                    serial: f.serial.chars().take(64).collect(),
                    error: Some(error),
                },
            )
        }
    }
}
