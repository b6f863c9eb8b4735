use twostep_core::UnixTime;
use twostep_store::StoreError;

/// What a decision can refuse, with a message meant for the user and a stable
/// code for API clients. Internal failures keep their cause for the log only.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Bad input; `field` names the form field the message belongs next to.
    #[error("{message}")]
    Invalid {
        code: &'static str,
        field: &'static str,
        message: String,
    },
    #[error("Incorrect username or password.")]
    BadCredentials,
    #[error("{message}")]
    WrongSecondFactor { message: String, remaining: u32 },
    #[error("Too many wrong codes: two-step sign-in for this account is locked until {until_utc} UTC. We sent you an email. App passwords keep working meanwhile. If this was not you, someone knows your password: change it.")]
    Locked { until: UnixTime, until_utc: String },
    #[error("Too many wrong passwords for this account from browsers it does not know: password sign-in from here is paused until {until_utc} UTC. A browser you signed in with before still works, app passwords keep working, and resetting your password by email lets you in now.")]
    Throttled { until: UnixTime, until_utc: String },
    #[error("Too many wrong passwords in a row for this account: password sign-in from browsers and programs it does not know is closed until its owner signs in from a browser they used before, or opens the link we emailed them. App passwords keep working, and resetting the password by email lets the owner in now.")]
    PasswordSignInClosed,
    #[error("{what} expired on {at_utc} UTC. Create a new one (or authorise the application again) in your account settings.")]
    CredentialExpired { what: String, at_utc: String },
    #[error("After 100 wrong codes in a row, two-step sign-in for this account is closed. Open the unlock link we emailed you to reopen it.")]
    Frozen,
    #[error("Two-step verification is on for {username}, so the account password does not work here. Use an app password instead: create one at {url}")]
    AppPasswordRequired { username: String, url: String },
    #[error("App passwords and access tokens cannot do this (no security setting, no new credential). Sign in with your password (and two-step code) instead.")]
    AppPasswordNotAllowed,
    #[error("This needs a signed-in browser session: sign in on the web pages (HTTP Basic with the account password cannot do this).")]
    SessionRequired,
    #[error("The access token is invalid, has expired or was revoked. Get a new one from the application.")]
    InvalidToken,
    #[error("This app password lacks the \"{0}\" permission.")]
    MissingScope(&'static str),
    #[error("{0}")]
    Conflict(String),
    /// Asked again too soon (a rate on something that mails or waits).
    #[error("{0}")]
    TooSoon(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{}", if *two_step_on { "Confirm it is you first: enter a code from your authenticator app or a recovery code, or use a security key." } else { "Confirm it is you first: enter your account password." })]
    SudoRequired { two_step_on: bool },
    #[error("Confirm your email address first (open the link we mailed you, or ask for a new one on your account page): new credentials (SSH keys, app passwords, security keys, passkeys, authorised applications, sign-in providers) need a confirmed address.")]
    EmailUnconfirmed,
    #[error("Sign in to continue.")]
    SignInRequired,
    #[error("That link is invalid, has expired or was already used. Ask for a new one.")]
    LinkInvalid,
    #[error("Not found.")]
    NotFound,
    #[error("There is no user named {0}.")]
    UnknownUser(String),
    #[error("We could not send the email. Try again in a moment.")]
    MailFailed(#[source] twostep_mail::MailError),
    #[error("The server is busy. Try again in a few seconds.")]
    Busy,
    #[error("Something went wrong on our side. Try again in a moment.")]
    Internal(#[source] Failure),
}

/// A failure on the server's side, with its cause: logged, never shown (the
/// person sees "Something went wrong on our side").
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("database: {0}")]
    Store(#[source] StoreError),
    #[error("{0} does not open with this server's key: {1}")]
    Sealed(String, #[source] twostep_core::secretbox::SecretBoxError),
    #[error("WebAuthn: {0}")]
    WebAuthn(#[from] webauthn_rs::prelude::WebauthnError),
    #[error("stored JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{what} {}: {source}", path.display())]
    Disk {
        what: &'static str,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} exists on disk without a record", .0.display())]
    Orphan(std::path::PathBuf),
    #[error("git init failed: {0}")]
    GitInit(String),
    #[error("OpenID Connect client: {0}")]
    Oidc(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("breached-password file: {0}")]
    Breached(#[source] std::io::Error),
    #[error("password hashing: {0}")]
    Hashing(&'static str),
    /// Readiness: a sentence for operators.
    #[error("{0}")]
    Unready(&'static str),
    /// A stored value this version does not know (a newer node wrote it?).
    #[error("unknown stored {what} {value:?}")]
    Stored { what: &'static str, value: String },
}

impl From<Failure> for AuthError {
    fn from(f: Failure) -> AuthError {
        AuthError::Internal(f)
    }
}

impl Failure {
    pub(crate) fn disk(
        what: &'static str,
        path: &std::path::Path,
    ) -> impl FnOnce(std::io::Error) -> Failure {
        let path = path.to_path_buf();
        move |source| Failure::Disk { what, path, source }
    }
}

impl AuthError {
    pub fn invalid(code: &'static str, field: &'static str, message: impl Into<String>) -> Self {
        AuthError::Invalid {
            code,
            field,
            message: message.into(),
        }
    }

    /// Stable machine-readable code (API `code` field).
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::Invalid { code, .. } => code,
            AuthError::BadCredentials => "bad_credentials",
            AuthError::WrongSecondFactor { .. } => "wrong_code",
            AuthError::Locked { .. } => "second_step_locked",
            AuthError::Throttled { .. } => "password_throttled",
            AuthError::PasswordSignInClosed => "password_sign_in_closed",
            AuthError::CredentialExpired { .. } => "credential_expired",
            AuthError::TooSoon(_) => "too_soon",
            AuthError::Frozen => "second_step_frozen",
            AuthError::AppPasswordRequired { .. } => "app_password_required",
            AuthError::MissingScope(_) => "insufficient_scope",
            AuthError::AppPasswordNotAllowed => "app_password_not_allowed",
            AuthError::SessionRequired => "session_required",
            AuthError::InvalidToken => "invalid_token",
            AuthError::Conflict(_) => "conflict",
            AuthError::Forbidden(_) => "forbidden",
            AuthError::SudoRequired { .. } => "sudo_required",
            AuthError::SignInRequired => "sign_in_required",
            AuthError::EmailUnconfirmed => "email_unconfirmed",
            AuthError::LinkInvalid => "link_invalid",
            AuthError::NotFound => "not_found",
            AuthError::UnknownUser(_) => "user_not_found",
            AuthError::MailFailed(_) => "mail_failed",
            AuthError::Busy => "busy",
            AuthError::Internal(_) => "internal",
        }
    }

    /// Form field the message belongs to, if any.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            AuthError::Invalid { field, .. } => Some(field),
            AuthError::WrongSecondFactor { .. } => Some("code"),
            AuthError::BadCredentials => Some("password"),
            AuthError::SudoRequired { two_step_on: true } => Some("code"),
            AuthError::SudoRequired { two_step_on: false } => Some("password"),
            _ => None,
        }
    }
}

impl From<StoreError> for AuthError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => AuthError::Conflict("That already exists.".into()),
            StoreError::InvalidText => AuthError::invalid(
                "control_characters",
                "",
                "Text may not contain NUL or other control characters.",
            ),
            // No connection or writer's turn came free in time: the server
            // is busy (503 with Retry-After), not broken.
            StoreError::PoolTimedOut => AuthError::Busy,
            other => AuthError::Internal(Failure::Store(other)),
        }
    }
}

pub fn utc(at: UnixTime) -> String {
    let ts = at.secs();
    // Civil-from-days (Howard Hinnant), to show times without a date crate.
    let days = ts.div_euclid(86_400);
    let secs = ts.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_too_busy_to_answer_is_busy_and_a_broken_one_internal() {
        assert!(matches!(
            AuthError::from(StoreError::PoolTimedOut),
            AuthError::Busy
        ));
        assert!(matches!(
            AuthError::from(StoreError::PoolClosed),
            AuthError::Internal(Failure::Store(StoreError::PoolClosed))
        ));
        assert_eq!(AuthError::from(StoreError::Conflict).code(), "conflict");
    }

    #[test]
    fn utc_formats_civil_time() {
        assert_eq!(
            super::utc(super::UnixTime::from_secs(0)),
            "1970-01-01 00:00:00"
        );
        assert_eq!(
            super::utc(super::UnixTime::from_secs(1_234_567_890)),
            "2009-02-13 23:31:30"
        );
        assert_eq!(
            super::utc(super::UnixTime::from_secs(1_795_305_600)),
            "2026-11-22 00:00:00"
        );
    }
}
