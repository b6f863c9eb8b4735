//! Web pages: one file per page group, each exposing its routes.

mod account;
mod admin;
mod app_passwords;
mod filters;
mod hardware_tokens;
mod help;
mod key_call;
mod oauth;
mod oidc;
mod passkeys;
mod password;
mod recover;
mod repositories;
mod security_keys;
mod security_log;
mod sessions;
mod signin;
mod signup;
mod ssh_approval;
mod ssh_keys;
mod two_step;
mod two_step_codes;
mod unlock;
mod workspaces;

use askama::Template;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Router;
use twostep_auth::SessionInfo;

use crate::csrf::Csrf;
use crate::routes::{Routes, Surface};
use crate::{AppState, Error};
use twostep_auth::Action;

/// Every page route, as declared.
pub fn routes() -> Routes {
    Routes::new(Surface::Page)
        .get("/", Action::ReadPublic, home)
        .get("/static/style.css", Action::ReadPublic, stylesheet)
        .get("/static/webauthn.js", Action::ReadPublic, script)
        .merge(signup::routes())
        .merge(signin::routes())
        .merge(password::routes())
        .merge(account::routes())
        .merge(ssh_keys::routes())
        .merge(two_step::routes())
        .merge(two_step_codes::routes())
        .merge(recover::routes())
        .merge(security_log::routes())
        .merge(sessions::routes())
        .merge(help::routes())
        .merge(repositories::routes())
        .merge(app_passwords::routes())
        .merge(security_keys::routes())
        .merge(passkeys::routes())
        .merge(oidc::routes())
        .merge(oauth::routes())
        .merge(ssh_approval::routes())
        .merge(unlock::routes())
        .merge(admin::routes())
        .merge(workspaces::routes())
        .merge(hardware_tokens::routes())
}

pub fn router(state: AppState) -> Router<AppState> {
    routes()
        .into_router(&state)
        .layer(middleware::from_fn_with_state(state.clone(), error_pages))
        .layer(middleware::from_fn_with_state(
            state,
            crate::csrf::ensure_cookie,
        ))
}

/// What every page's layout needs.
pub struct Page {
    pub issuer: String,
    pub user: Option<String>,
    pub csrf: String,
    pub notice: Option<String>,
    /// The notice is of a factor added, removed or replaced: the page offers
    /// to review the sessions and end the others (ASVS 7.4.3).
    pub offer_sessions: bool,
    /// What a security change on this page needs typed first: "" while the
    /// session is in sudo mode (or signed out), else "code" or "password".
    pub confirm_with: &'static str,
    /// Password given, second step owed: the header offers "Cancel sign-in".
    pub half_signed_in: bool,
    /// A new list of recovery codes not yet shown to be saved: the number of
    /// the code to type back (the account pages nag until it is).
    pub codes_to_type: Option<i64>,
    /// A self-service recovery of this account is under way: when it is
    /// ready (UTC). Every signed-in page shows the banner.
    pub recovery_ready: Option<String>,
    /// An administrator: the header links to the admin pages.
    pub admin: bool,
    /// An administrator reset two-step verification: every page says to set it up.
    pub two_step_reset: bool,
    /// Workspaces that require two-step (off here), and from when.
    pub workspace_deadlines: Vec<Deadline>,
}

/// A workspace's two-step deadline as the banner says it.
pub struct Deadline {
    pub workspace: String,
    /// UTC.
    pub from: String,
    /// "two-step verification" or "a security key or passkey".
    pub what: &'static str,
}

impl Page {
    pub fn new(state: &AppState, session: Option<&SessionInfo>, csrf: &Csrf) -> Page {
        Page {
            issuer: state.auth.settings().issuer.clone(),
            user: session
                .filter(|s| s.complete)
                .map(|s| s.user.username.clone()),
            csrf: csrf.token.clone(),
            notice: None,
            offer_sessions: false,
            half_signed_in: session.is_some_and(|s| !s.complete),
            codes_to_type: session
                .filter(|s| s.complete)
                .and_then(|s| s.user.recovery_code_to_type),
            recovery_ready: session
                .filter(|s| s.complete)
                .and_then(|s| s.user.recovery_ready_at)
                .map(twostep_auth::utc),
            admin: session.is_some_and(|s| s.complete && s.user.is_admin),
            two_step_reset: session.is_some_and(|s| s.complete && s.user.two_step_reset_by_admin),
            workspace_deadlines: session
                .filter(|s| s.complete)
                .map(|s| {
                    s.user
                        .two_step_required_by
                        .iter()
                        .map(|d| Deadline {
                            workspace: d.workspace.clone(),
                            from: twostep_auth::utc(d.from),
                            what: d.what,
                        })
                        .collect()
                })
                .unwrap_or_default(),
            confirm_with: match session.filter(|s| s.complete) {
                Some(s) if !state.auth.signin().in_sudo(s) => {
                    if s.user.two_step_enabled_at.is_some() {
                        "code"
                    } else if s.user.has_password {
                        "password"
                    } else {
                        "provider"
                    }
                }
                _ => "",
            },
        }
    }

    pub fn notice(mut self, key: Option<&str>) -> Page {
        self.notice = key.and_then(notice_text).map(str::to_string);
        self.offer_sessions = self.user.is_some()
            && key.is_some_and(|k| {
                matches!(
                    k,
                    "replaced"
                        | "authenticator-added"
                        | "authenticator-removed"
                        | "security-key-added"
                        | "passkey-added"
                        | "passkey-removed"
                        | "key-added"
                        | "key-removed"
                        | "disabled"
                )
            });
        self
    }
}

/// Notices after a redirect come from a fixed list, never from the URL's text.
fn notice_text(key: &str) -> Option<&'static str> {
    Some(match key {
        "confirmation-sent" => "We sent a new confirmation link.",
        "key-added" => "SSH key added.",
        "key-removed" => "SSH key removed.",
        "replaced" => {
            "Your new authenticator app is set up. Codes from the old one no longer work."
        }
        "authenticator-added" => {
            "Authenticator added. A code from it, or from any other authenticator on your account, signs you in."
        }
        "authenticator-removed" => "Authenticator removed: its codes no longer work.",
        "recovered" => {
            "Your account is recovered: the old second factors are gone. Set up a new authenticator now."
        }
        "codes-saved" => "Thank you: your recovery codes are saved. Keep them away from your phone.",
        "disabled" => "Two-step verification is off.",
        "password-changed" => "Your password was changed. Sign in with the new one.",
        "password-changed-here" => {
            "Your password was changed. Your other sessions were signed out."
        }
        "email-change-sent" => {
            "We sent a link to the new address: open it to start using that address."
        }
        "email-changed" => "Your email address was changed.",
        "signed-out" => "You are signed out.",
        "signed-out-everywhere" => {
            "Every other session is signed out; app passwords, authorised applications and mailed links stopped working."
        }
        "security-key-added" => {
            "Security key added. Next time, you can touch it instead of typing a code."
        }
        "passkey-added" => {
            "Passkey added. Next time, choose \"Sign in with a passkey\" on the sign-in page: no password or code needed."
        }
        "key-removed-security" => "Security key removed.",
        "first-key-added" => {
            "Your key is registered. We sent a confirmation link to your email address: open it to turn two-step verification on."
        }
        "passkey-removed" => "Passkey removed: it no longer signs in to this account.",
        "application-revoked" => "Application revoked: its tokens stopped working at once.",
        "provider-linked" => "Provider linked: you can sign in with it now.",
        "provider-unlinked" => "Provider unlinked: it can no longer sign in to this account.",
        "app-password-revoked" => "App password revoked: it stops working at once.",
        "two-step-reset" => {
            "An administrator reset your two-step verification. Set it up again now: start below."
        }
        "admin-reset" => "Two-step verification was reset; the user was mailed.",
        "admin-reset-waiting" => {
            "The reset waits for a second administrator's approval; the other administrators were mailed."
        }
        "admin-unlocked" => "Two-step sign-in unlocked; the user was mailed.",
        "admin-sessions-ended" => "Every session of the user ended; the user was mailed.",
        "session-ended" => "The session was ended: that browser is signed out.",
        "sessions-ended" => "Every other session was ended.",
        "admin-granted" => "Administrator rights granted.",
        "workspace-created" => "Workspace created: you are its admin.",
        "member-set" => "Member saved.",
        "ssh-rules-saved" => "SSH rules saved; every admin was mailed.",
        "authority-added" => {
            "Certificate authority added: certificates it signs reach the repositories as the members they name. Every admin was mailed."
        }
        "authority-removed" => {
            "Certificate authority removed: its certificates are refused from now on."
        }
        "member-removed" => "Member removed.",
        "policy-on" => {
            "Two-step verification is required now; members without it were mailed and keep access until the grace period ends."
        }
        "policy-off" => "Two-step verification is no longer required in this workspace.",
        "workspace-repo-created" => "Repository created.",
        "admin-revoked" => "Administrator rights removed.",
        "approval-approved" => "Approved: the reset was done and the user was mailed.",
        "approval-cancelled" => "The request was cancelled.",
        _ => return None,
    })
}

/// A form error shown next to its field (or at the top if `field` is empty).
#[derive(Debug, Clone, Default)]
pub struct FormError {
    pub field: &'static str,
    pub message: String,
}

impl FormError {
    /// Errors that belong to a field are shown in the form; others propagate.
    pub fn from_error(e: Error) -> Result<FormError, Error> {
        match e.field {
            Some(field) => Ok(FormError {
                field,
                message: e.message,
            }),
            None if e.status.is_client_error() && !e.needs_sign_in() && !e.is_csrf() => {
                Ok(FormError {
                    field: "",
                    message: e.message,
                })
            }
            None => Err(e),
        }
    }
}

/// A refused form: the status to answer with and the message for the form.
pub fn form_failure(e: impl Into<Error>) -> Result<(StatusCode, FormError), Error> {
    let e: Error = e.into();
    let status = e.status;
    Ok((status, FormError::from_error(e)?))
}

/// Forms that carry nothing but their CSRF token.
#[derive(serde::Deserialize)]
pub struct CsrfForm {
    pub csrf: String,
}

/// Forms of security changes: the proof, when the session is not in sudo mode.
#[derive(serde::Deserialize)]
pub struct ProofForm {
    pub csrf: String,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
}

impl ProofForm {
    pub fn proof(&self) -> twostep_auth::Proof {
        twostep_auth::Proof::from_fields(self.code.as_deref(), self.password.as_deref())
    }
}

/// Forms with one code field.
#[derive(serde::Deserialize)]
pub struct CodeForm {
    pub csrf: String,
    pub code: String,
    pub next: Option<String>,
}

impl CodeForm {
    /// The code as the proof of a security change (blank: rely on sudo mode).
    pub fn proof(&self) -> twostep_auth::Proof {
        twostep_auth::Proof::from_fields(Some(&self.code), None)
    }
}

/// A page that shows a refused form's error next to its field
/// (`form_errors!` makes one).
pub trait FormPage: Template {
    fn set_error(&mut self, error: FormError);
}

/// A form the service refused: its page again, with the error, in the
/// refusal's status. The page is built only for a refusal a form shows (a
/// missing sign-in, say, is answered as such, without reading the page).
pub async fn refused<P: FormPage>(
    e: impl Into<Error>,
    page: impl std::future::Future<Output = Result<P, Error>>,
) -> Result<Response, Error> {
    let (status, error) = form_failure(e)?;
    let mut page = page.await?;
    page.set_error(error);
    render_status(status, &page)
}

/// Adds `err(field)` and `general()` to a template with `error: Option<FormError>`,
/// and makes it a `FormPage`.
macro_rules! form_errors {
    ($t:ty) => {
        impl $crate::pages::FormPage for $t {
            fn set_error(&mut self, error: $crate::pages::FormError) {
                self.error = Some(error);
            }
        }

        impl $t {
            pub fn err(&self, field: &str) -> Option<&str> {
                self.error
                    .as_ref()
                    .filter(|e| e.field == field)
                    .map(|e| e.message.as_str())
            }
            pub fn general(&self) -> Option<&str> {
                self.err("")
            }
        }
    };
}
pub(crate) use form_errors;

pub fn render<T: Template>(t: &T) -> Result<Response, Error> {
    render_status(StatusCode::OK, t)
}

pub fn render_status<T: Template>(status: StatusCode, t: &T) -> Result<Response, Error> {
    let html = t.render().map_err(|e| {
        tracing::error!(error = %e, "template failed");
        Error::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Something went wrong on our side.",
        )
    })?;
    Ok((status, Html(html)).into_response())
}

/// A safe place to go after sign-in: a path on this server (see `parse::resolve_next`).
pub fn safe_next(state: &AppState, next: Option<&str>) -> String {
    crate::parse::resolve_next(&state.auth.settings().public_url, next)
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    page: Page,
    heading: String,
    message: String,
    back: String,
}

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    page: Page,
}

async fn home(
    State(state): State<AppState>,
    crate::session::MaybeSignedIn(s): crate::session::MaybeSignedIn,
    csrf: Csrf,
    axum::extract::Query(q): axum::extract::Query<NoticeQuery>,
) -> Result<Response, Error> {
    render(&Home {
        page: Page::new(&state, s.as_ref(), &csrf).notice(q.n.as_deref()),
    })
}

#[derive(serde::Deserialize, Default)]
pub struct NoticeQuery {
    pub n: Option<String>,
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/style.css"),
    )
}

async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/webauthn.js"),
    )
}

/// Turns the JSON error of a page handler into a page, or a redirect to sign-in.
async fn error_pages(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let is_get = req.method() == axum::http::Method::GET;
    // Calls from static/webauthn.js want the JSON error as it is.
    let from_script = req.headers().contains_key("x-csrf-token");
    let session = crate::session::token_of(
        &state,
        &axum_extra::extract::CookieJar::from_headers(req.headers()),
    );
    let mut res = next.run(req).await;
    if from_script {
        return res;
    }
    let Some(err) = res.extensions_mut().remove::<Error>() else {
        return res;
    };
    let refused = res.extensions().get::<crate::gate::RefusedBy>().copied();
    // The error page keeps the header of whoever is signed in.
    let signed_in = match &session {
        Some(t) if !err.needs_sign_in() => state
            .auth
            .signin()
            .session(t)
            .await
            .ok()
            .flatten()
            .map(|s| (s, crate::csrf::token_for_session(&state, t))),
        _ => None,
    };
    let mut out = page_of_error(&state, err, &path, is_get, signed_in.as_ref());
    if let Some(r) = refused {
        crate::gate::mark(&mut out, r.0);
    }
    out
}

fn page_of_error(
    state: &AppState,
    err: Error,
    path: &str,
    is_get: bool,
    session: Option<&(SessionInfo, String)>,
) -> Response {
    if err.needs_sudo() {
        // Back to the page the form was on, once the proof is given.
        let page: String = path
            .split('?')
            .next()
            .unwrap_or("/")
            .split('/')
            .take(3)
            .collect::<Vec<_>>()
            .join("/");
        let next: String =
            percent_encoding::utf8_percent_encode(&page, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        return Redirect::to(&format!("/account/confirm?next={next}")).into_response();
    }
    if err.needs_sign_in() {
        let target = if is_get { path.to_string() } else { "/".into() };
        let next: String =
            percent_encoding::utf8_percent_encode(&target, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        return Redirect::to(&format!("/signin?next={next}")).into_response();
    }
    error_page_for(state, &err, session)
}

/// The HTML page of an error, with nobody signed in in its header.
pub fn error_page(state: &AppState, err: &Error) -> Response {
    error_page_for(state, err, None)
}

/// The HTML page of an error, its header that of `session`'s user.
fn error_page_for(
    state: &AppState,
    err: &Error,
    session: Option<&(SessionInfo, String)>,
) -> Response {
    let heading = match err.status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::GONE => "Link expired",
        StatusCode::METHOD_NOT_ALLOWED => "Not here",
        StatusCode::PAYLOAD_TOO_LARGE => "Too large",
        s if s.is_server_error() => "Something went wrong",
        _ => "That did not work",
    };
    let signed_in = session.map(|(s, _)| s).filter(|s| s.complete);
    let page = ErrorPage {
        page: Page {
            issuer: state.auth.settings().issuer.clone(),
            user: signed_in.map(|s| s.user.username.clone()),
            csrf: session.map(|(_, t)| t.clone()).unwrap_or_default(),
            notice: None,
            offer_sessions: false,
            confirm_with: "",
            half_signed_in: session.is_some_and(|(s, _)| !s.complete),
            codes_to_type: None,
            recovery_ready: None,
            admin: signed_in.is_some_and(|s| s.user.is_admin),
            two_step_reset: false,
            workspace_deadlines: Vec::new(),
        },
        heading: heading.into(),
        message: err.message.clone(),
        back: "/".into(),
    };
    let mut res = match render_status(err.status, &page) {
        Ok(r) => r,
        Err(_) => (err.status, err.message.clone()).into_response(),
    };
    res.extensions_mut().insert(err.clone());
    res
}

/// Form bodies that do not parse get a page, not a bare text.
pub struct FormBody<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for FormBody<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;
    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let body = crate::input::body_bytes(req, state).await?;
        crate::input::form(&body).map(FormBody)
    }
}

/// The UTC time shown to help with drifting clocks.
pub fn server_time(state: &AppState) -> String {
    twostep_auth::utc(state.auth.now())
}
