//! The one error type of the web crate. It answers JSON; on the page router a
//! layer turns the same error into an HTML page (or a redirect to sign-in).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use twostep_auth::AuthError;

#[derive(Debug, Clone)]
pub struct Error {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<&'static str>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `wrong_code`, `weak_password`.
    pub code: String,
    /// What to tell the user.
    pub message: String,
    /// The input field the message is about, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl Error {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Error {
        Error {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Error {
        Error::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn not_found() -> Error {
        Error::new(StatusCode::NOT_FOUND, "not_found", "There is nothing here.")
    }

    pub fn sign_in_required() -> Error {
        AuthError::SignInRequired.into()
    }

    /// The caller must sign in first (pages send the browser to sign-in).
    pub fn needs_sign_in(&self) -> bool {
        self.code == AuthError::SignInRequired.code()
    }

    /// A security change without a fresh proof (pages ask for one).
    pub fn needs_sudo(&self) -> bool {
        self.code == AuthError::SudoRequired { two_step_on: false }.code()
    }

    /// A form whose CSRF token did not match.
    pub fn is_csrf(&self) -> bool {
        self.code == crate::csrf::CSRF_CODE
    }
}

impl From<AuthError> for Error {
    fn from(e: AuthError) -> Error {
        let status = match &e {
            AuthError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AuthError::BadCredentials
            | AuthError::SignInRequired
            | AuthError::InvalidToken
            | AuthError::CredentialExpired { .. } => StatusCode::UNAUTHORIZED,
            AuthError::AppPasswordRequired { .. } => StatusCode::UNAUTHORIZED,
            AuthError::WrongSecondFactor { .. } => StatusCode::UNAUTHORIZED,
            AuthError::Locked { .. }
            | AuthError::Throttled { .. }
            | AuthError::PasswordSignInClosed
            | AuthError::Frozen
            | AuthError::TooSoon(_) => StatusCode::TOO_MANY_REQUESTS,
            AuthError::Conflict(_) => StatusCode::CONFLICT,
            AuthError::Forbidden(_)
            | AuthError::MissingScope(_)
            | AuthError::AppPasswordNotAllowed
            | AuthError::SessionRequired
            | AuthError::SudoRequired { .. }
            | AuthError::EmailUnconfirmed => StatusCode::FORBIDDEN,
            AuthError::LinkInvalid => StatusCode::GONE,
            AuthError::NotFound | AuthError::UnknownUser(_) => StatusCode::NOT_FOUND,
            AuthError::MailFailed(_) | AuthError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            AuthError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        match &e {
            AuthError::Internal(cause) => tracing::error!(%cause, "internal error"),
            AuthError::MailFailed(cause) => tracing::error!(%cause, "mail delivery failed"),
            _ => {}
        }
        Error {
            status,
            code: e.code(),
            message: e.to_string(),
            field: e.field(),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message.clone(),
                field: self.field.map(str::to_string),
            },
        };
        let mut res = (self.status, Json(body)).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("5"),
            );
        }
        if self.code == AuthError::InvalidToken.code() {
            // RFC 6750 section 3: say which token failed and why.
            res.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static(
                    "Bearer realm=\"twostep\", error=\"invalid_token\", error_description=\"The access token is invalid, expired or revoked\"",
                ),
            );
        }
        res.extensions_mut().insert(self);
        res
    }
}
