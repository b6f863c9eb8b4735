use crate::routes::{Routes, Surface};
use axum::extract::State;
use axum::Json;
use axum_extra::extract::CookieJar;
use serde::{Deserialize, Serialize};
use twostep_auth::Action;
use twostep_auth::SignInOutcome;

use super::{ApiJson, CodeRequest, Status};
use crate::session::{clear_session_cookie, session_cookie, signed_in, token_of, Api, ApiUser};
use crate::{AppState, Error};

pub fn router() -> Routes {
    Routes::new(Surface::Api)
        .post("/session", Action::SignIn, sign_in)
        .delete("/session", Action::SignOut, sign_out)
        .post("/session/second-step", Action::SecondStep, second_step)
        .post("/session/sudo", Action::ConfirmIdentity, sudo)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SignInRequest {
    /// Username or email address.
    pub login: String,
    pub password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SignInResponse {
    /// `signed_in`, `two_step_setup_required` (signed in; an administrator
    /// reset two-step verification: set it up again with POST
    /// /api/v1/user/two-step/setup), or `second_step_required` (then POST
    /// /api/v1/session/second-step).
    pub status: String,
    /// Second factors accepted here: `totp`, `recovery_code` (security keys are used on the web pages).
    pub methods: Vec<String>,
    /// Set when the second step takes no code now: locked after wrong codes
    /// (until `until`, Unix seconds) or closed after 100 in a row (`frozen`:
    /// the unlock link mailed to the account reopens it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub second_step_lock: Option<LockInfo>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LockInfo {
    /// `second_step_locked` or `second_step_frozen`, as the second step would answer.
    pub code: String,
    /// When the lock ends (Unix seconds); none while frozen.
    pub until: Option<i64>,
    /// What to tell the user, with the way to unlock.
    pub message: String,
}

impl From<twostep_auth::SecondStepLock> for LockInfo {
    fn from(l: twostep_auth::SecondStepLock) -> LockInfo {
        let (code, until) = match l {
            twostep_auth::SecondStepLock::Locked { until } => {
                ("second_step_locked", Some(until.secs()))
            }
            twostep_auth::SecondStepLock::Frozen => ("second_step_frozen", None),
        };
        LockInfo {
            code: code.into(),
            until,
            message: l.message(),
        }
    }
}

/// Sign in with a password. Sets the session cookie.
#[utoipa::path(post, path = "/api/v1/session", tag = "session", request_body = SignInRequest,
    responses((status = 200, body = SignInResponse), (status = 401, body = crate::error::ErrorBody)))]
async fn sign_in(
    State(state): State<AppState>,
    Api(ctx): Api,
    jar: CookieJar,
    ApiJson(r): ApiJson<SignInRequest>,
) -> Result<(CookieJar, Json<SignInResponse>), Error> {
    let jar = match state
        .auth
        .signin()
        .sign_in(&r.login, &r.password, &ctx)
        .await?
    {
        SignInOutcome::SignedIn { token, user } => {
            return Ok((
                signed_in(jar, &state, token, &user.id, &ctx),
                Json(SignInResponse {
                    status: if user.two_step_reset_by_admin {
                        "two_step_setup_required"
                    } else {
                        "signed_in"
                    }
                    .into(),
                    methods: vec![],
                    second_step_lock: None,
                }),
            ))
        }
        SignInOutcome::SecondStep {
            token, need, lock, ..
        } => {
            let mut methods = Vec::new();
            if need.totp {
                methods.push("totp".to_string());
            }
            if need.recovery_code {
                methods.push("recovery_code".to_string());
            }
            (
                jar.add(session_cookie(token, state.secure_cookies)),
                SignInResponse {
                    status: "second_step_required".into(),
                    methods,
                    second_step_lock: lock.map(LockInfo::from),
                },
            )
        }
    };
    Ok((jar.0, Json(jar.1)))
}

/// Complete the sign-in with an authenticator code or a recovery code. Replaces the session cookie.
#[utoipa::path(post, path = "/api/v1/session/second-step", tag = "session", request_body = CodeRequest,
    responses((status = 200, body = Status), (status = 401, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
async fn second_step(
    State(state): State<AppState>,
    Api(ctx): Api,
    jar: CookieJar,
    ApiJson(r): ApiJson<CodeRequest>,
) -> Result<(CookieJar, Json<Status>), Error> {
    let token = token_of(&state, &jar).ok_or_else(Error::sign_in_required)?;
    let (new_token, user) = state
        .auth
        .signin()
        .second_step(&token, &r.code, &ctx)
        .await?;
    Ok((
        signed_in(jar, &state, new_token, &user.id, &ctx),
        Status::json("signed_in"),
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SudoResponse {
    /// Security changes need no further proof on this session until then (unix seconds).
    pub sudo_until: i64,
}

/// Confirm it is you (a code or recovery code while two-step is on, else the
/// account password): security changes on this session need no further proof
/// for 10 minutes. Never with an app password.
#[utoipa::path(post, path = "/api/v1/session/sudo", tag = "session", request_body = super::ProofRequest,
    responses((status = 200, body = SudoResponse), (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
async fn sudo(
    State(state): State<AppState>,
    ApiUser(s): ApiUser,
    Api(ctx): Api,
    ApiJson(r): ApiJson<super::ProofRequest>,
) -> Result<Json<SudoResponse>, Error> {
    let sudo_until = state
        .auth
        .signin()
        .confirm_identity(&s, &r.proof(), &ctx)
        .await?;
    Ok(Json(SudoResponse {
        sudo_until: sudo_until.secs(),
    }))
}

/// Sign out.
#[utoipa::path(delete, path = "/api/v1/session", tag = "session", responses((status = 200, body = Status)))]
async fn sign_out(
    State(state): State<AppState>,
    Api(ctx): Api,
    jar: CookieJar,
) -> Result<(CookieJar, Json<Status>), Error> {
    if let Some(t) = token_of(&state, &jar) {
        state.auth.signin().sign_out(&t, &ctx).await?;
    }
    Ok((
        jar.add(clear_session_cookie(state.secure_cookies)),
        Status::json("signed_out"),
    ))
}
