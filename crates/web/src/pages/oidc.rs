//! Signing in with an OpenID Connect provider, and the account's linked
//! providers. The trip to the provider is bound to this browser by a cookie
//! (SameSite=Lax, so the provider's redirect back carries it).

use crate::routes::{Routes, Surface};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, SameSite};
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use twostep_auth::Action;
use twostep_auth::{AuthError, LinkedProvider, OidcOutcome, OidcTrip};

use super::{filters, render, safe_next, FormBody, NoticeQuery, Page, ProofForm};
use crate::csrf::Csrf;
use crate::session::{cookie_name, session_cookie, signed_in, SignedIn, Web};
use crate::{AppState, Error};

const TRIP_COOKIE: &str = "twostep_oidc";

pub fn routes() -> Routes {
    Routes::new(Surface::Page)
        .get("/signin/oidc/{provider}", Action::SignIn, start)
        .get("/signin/oidc/{provider}/callback", Action::SignIn, callback)
        .get("/account/sign-in-providers", Action::ViewAccount, page)
        .post(
            "/account/sign-in-providers/{provider}/link",
            Action::LinkProvider,
            link,
        )
        .post(
            "/account/sign-in-providers/{id}/unlink",
            Action::UnlinkProvider,
            unlink,
        )
        .post(
            "/account/confirm/oidc/{provider}",
            Action::ConfirmIdentity,
            confirm,
        )
}

fn trip_cookie(state: &AppState, value: String) -> Cookie<'static> {
    Cookie::build((cookie_name(TRIP_COOKIE, state.secure_cookies), value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.secure_cookies)
        .build()
}

#[derive(Deserialize)]
struct StartQuery {
    next: Option<String>,
}

async fn start(
    State(state): State<AppState>,
    Web(ctx): Web,
    Path(provider): Path<String>,
    Query(q): Query<StartQuery>,
    jar: CookieJar,
) -> Result<Response, Error> {
    let next = safe_next(&state, q.next.as_deref());
    let (url, browser) = state
        .auth
        .providers()
        .begin_oidc(&provider, OidcTrip::SignIn, &next, &ctx)
        .await?;
    Ok((jar.add(trip_cookie(&state, browser)), Redirect::to(&url)).into_response())
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

async fn callback(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    Query(q): Query<CallbackQuery>,
    Web(ctx): Web,
    jar: CookieJar,
) -> Result<Response, Error> {
    if let Some(e) = q.error {
        let why = q.error_description.unwrap_or(e);
        return Err(AuthError::Forbidden(format!(
            "The provider did not sign you in: {}. Nothing changed here.",
            why.chars().take(200).collect::<String>()
        ))
        .into());
    }
    let (Some(code), Some(trip)) = (q.code, q.state) else {
        return Err(Error::bad_request(
            "The provider's answer has no code or state.",
        ));
    };
    let browser = jar
        .get(cookie_name(TRIP_COOKIE, state.secure_cookies))
        .map(|c| c.value().to_string());
    let jar = jar.remove(trip_cookie(&state, String::new()));
    let outcome = state
        .auth
        .providers()
        .finish_oidc(&provider, &code, &trip, browser.as_deref(), &ctx)
        .await?;
    Ok(match outcome {
        OidcOutcome::SignedIn { token, user, next } => (
            signed_in(jar, &state, token, &user.id, &ctx),
            Redirect::to(&next),
        )
            .into_response(),
        OidcOutcome::SecondStep { token, next, .. } => {
            let to = format!(
                "/signin/second-step?next={}",
                percent_encoding::utf8_percent_encode(&next, percent_encoding::NON_ALPHANUMERIC)
            );
            (
                jar.add(session_cookie(token, state.secure_cookies)),
                Redirect::to(&to),
            )
                .into_response()
        }
        OidcOutcome::Confirmed { next } => (jar, Redirect::to(&next)).into_response(),
        OidcOutcome::Linked { .. } => (
            jar,
            Redirect::to("/account/sign-in-providers?n=provider-linked"),
        )
            .into_response(),
    })
}

#[derive(Template)]
#[template(path = "sign_in_providers.html")]
struct ProvidersPage {
    page: Page,
    linked: Vec<LinkedProvider>,
    /// Providers not linked yet.
    available: Vec<ProviderChoice>,
    two_step_on: bool,
    has_password: bool,
}

async fn page(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, Error> {
    let providers = state.auth.providers().oidc_providers();
    let mine = state.auth.providers().identities(&s.user.id).await?;
    render(&ProvidersPage {
        page: Page::new(&state, Some(&s), &csrf).notice(q.n.as_deref()),
        available: providers
            .iter()
            .filter(|p| !mine.iter().any(|i| i.provider == p.id))
            .map(ProviderChoice::of)
            .collect(),
        two_step_on: s.user.two_step_enabled_at.is_some(),
        has_password: state.auth.providers().has_password(&s.user.id).await?,
        linked: mine,
    })
}

/// A provider a page offers: its id (in addresses) and its name.
pub struct ProviderChoice {
    pub id: String,
    pub name: String,
}

impl ProviderChoice {
    pub(super) fn of(p: &twostep_auth::OidcProvider) -> ProviderChoice {
        ProviderChoice {
            id: p.id.clone(),
            name: p.display_name.clone(),
        }
    }
}

/// The providers linked to an account.
pub(super) async fn linked_providers(
    state: &AppState,
    user_id: &twostep_auth::UserId,
) -> Result<Vec<ProviderChoice>, Error> {
    Ok(state
        .auth
        .providers()
        .identities(user_id)
        .await?
        .into_iter()
        .filter(|i| i.configured)
        .map(|i| ProviderChoice {
            id: i.provider,
            name: i.provider_name,
        })
        .collect())
}

/// The linked providers whose sign-in may confirm it is this account's
/// owner (the provider is its way in; with two-step on, trusted for MFA).
pub(super) async fn confirming_providers(
    state: &AppState,
    user_id: &twostep_auth::UserId,
) -> Result<Vec<ProviderChoice>, Error> {
    let mut out = Vec::new();
    for p in linked_providers(state, user_id).await? {
        if state
            .auth
            .providers()
            .provider_can_confirm(user_id, &p.id)
            .await?
        {
            out.push(p);
        }
    }
    Ok(out)
}

#[derive(Deserialize)]
struct ConfirmForm {
    csrf: String,
    #[serde(default)]
    next: String,
}

/// Sudo mode by signing in at a linked provider again.
async fn confirm(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    Path(provider): Path<String>,
    jar: CookieJar,
    FormBody(f): FormBody<ConfirmForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    let next = safe_next(&state, Some(&f.next));
    let (url, browser) = state
        .auth
        .providers()
        .begin_oidc(&provider, OidcTrip::Confirm(&s), &next, &ctx)
        .await?;
    leaving(&state, &s, &csrf, &provider, url, browser, jar)
}

/// A page that moves on by itself: a form's answer may not redirect to
/// another origin (CSP form-action 'self'); a refresh may.
fn leaving(
    state: &AppState,
    s: &twostep_auth::SessionInfo,
    csrf: &Csrf,
    provider: &str,
    url: String,
    browser: String,
    jar: CookieJar,
) -> Result<Response, Error> {
    let page = Leaving {
        page: Page::new(state, Some(s), csrf),
        provider: state
            .auth
            .providers()
            .oidc_providers()
            .iter()
            .find(|p| p.id == provider)
            .map_or(provider.to_string(), |p| p.display_name.clone()),
        url,
    };
    Ok((jar.add(trip_cookie(state, browser)), render(&page)?).into_response())
}

#[derive(Template)]
#[template(path = "oidc_leaving.html")]
struct Leaving {
    page: Page,
    provider: String,
    url: String,
}

#[derive(Deserialize)]
struct CsrfOnly {
    csrf: String,
}

async fn link(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    Path(provider): Path<String>,
    jar: CookieJar,
    FormBody(f): FormBody<CsrfOnly>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    match state
        .auth
        .providers()
        .begin_oidc(
            &provider,
            OidcTrip::Link(&s),
            "/account/sign-in-providers",
            &ctx,
        )
        .await
    {
        Ok((url, browser)) => leaving(&state, &s, &csrf, &provider, url, browser, jar),
        // Confirm first, then come back here and click again.
        Err(AuthError::SudoRequired { .. }) => {
            Ok(Redirect::to("/account/confirm?next=/account/sign-in-providers").into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn unlink(
    State(state): State<AppState>,
    SignedIn(s): SignedIn,
    csrf: Csrf,
    Web(ctx): Web,
    Path(id): Path<String>,
    FormBody(f): FormBody<ProofForm>,
) -> Result<Response, Error> {
    csrf.check(&f.csrf)?;
    match state
        .auth
        .providers()
        .unlink_identity(&s, &id, &f.proof(), &ctx)
        .await
    {
        Ok(()) => {
            Ok(Redirect::to("/account/sign-in-providers?n=provider-unlinked").into_response())
        }
        Err(AuthError::SudoRequired { .. }) => {
            Ok(Redirect::to("/account/confirm?next=/account/sign-in-providers").into_response())
        }
        Err(e) => Err(e.into()),
    }
}
