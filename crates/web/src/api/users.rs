use crate::routes::{Routes, Surface};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use twostep_auth::Account;
use twostep_auth::Action;

use super::{ApiJson, ProofRequest, Status, TokenRequest};
use crate::session::{Api, ApiUser};
use crate::{AppState, Error};

pub fn router() -> Routes {
    Routes::new(Surface::Api)
        .post("/users", Action::SignUp, sign_up)
        .post("/users/confirm-email", Action::RedeemLink, confirm_email)
        .get("/user", Action::ReadAccount, me)
        .post(
            "/user/confirm-email/resend",
            Action::ResendEmailConfirmation,
            resend,
        )
        .post("/user/password", Action::ChangePassword, change_password)
        .post("/user/email", Action::ChangeEmail, change_email)
        .post(
            "/user/email/confirm",
            Action::RedeemLink,
            confirm_email_change,
        )
        .post(
            "/user/sign-out-everywhere",
            Action::SignOutEverywhere,
            sign_out_everywhere,
        )
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SignUpRequest {
    pub username: String,
    pub email: String,
    pub password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub email: String,
    pub email_confirmed: bool,
    pub two_step_enabled: bool,
    /// Unix seconds.
    pub created_at: i64,
    /// Set while someone asks to recover this account without its second
    /// factors: when it would be ready (unix seconds). Any second factor
    /// used on the account cancels it.
    pub recovery_ready_at: Option<i64>,
    pub admin: bool,
    /// An administrator reset two-step verification: set it up again
    /// (`POST /api/v1/user/two-step/setup`).
    pub two_step_setup_required: bool,
}

impl From<&Account> for UserView {
    fn from(u: &Account) -> Self {
        UserView {
            id: u.id.to_string(),
            username: u.username.clone(),
            email: u.email.clone(),
            email_confirmed: u.email_confirmed_at.is_some(),
            two_step_enabled: u.two_step_enabled_at.is_some(),
            created_at: u.created_at.secs(),
            recovery_ready_at: u.recovery_ready_at.map(|t| t.secs()),
            admin: u.is_admin,
            two_step_setup_required: u.two_step_reset_by_admin,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SignUpStarted {
    /// `confirmation_sent`
    pub status: String,
    pub message: String,
}

/// Start making an account: a link is mailed to the address, and the account
/// is made when it is opened (`POST /api/v1/users/confirm-email`). The answer
/// is the same whether or not the address has an account already (its owner
/// is mailed instead).
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = SignUpRequest,
    responses((status = 202, body = SignUpStarted), (status = 422, body = crate::error::ErrorBody)))]
async fn sign_up(
    State(state): State<AppState>,
    Api(ctx): Api,
    ApiJson(r): ApiJson<SignUpRequest>,
) -> Result<(StatusCode, Json<SignUpStarted>), Error> {
    state
        .auth
        .accounts()
        .sign_up(&r.username, &r.email, &r.password, &ctx)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(SignUpStarted {
            status: "confirmation_sent".into(),
            message: "We sent a link to that address: open it within 24 hours to finish.".into(),
        }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ConfirmEmailRequest {
    /// The `token` parameter of the mailed link.
    pub token: String,
    /// The password chosen at sign-up (a sign-up's link makes the account
    /// only with it).
    #[serde(default)]
    pub password: Option<String>,
}

/// Confirm the email address with the token from the mailed link; a
/// sign-up's link (with the password chosen at sign-up) makes the account.
#[utoipa::path(post, path = "/api/v1/users/confirm-email", tag = "users", request_body = ConfirmEmailRequest,
    responses((status = 200, body = UserView), (status = 410, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn confirm_email(
    State(state): State<AppState>,
    Api(ctx): Api,
    ApiJson(r): ApiJson<ConfirmEmailRequest>,
) -> Result<Json<UserView>, Error> {
    let confirmed = state
        .auth
        .accounts()
        .confirm_email(&r.token, r.password.as_deref(), false, &ctx)
        .await?;
    Ok(Json(UserView::from(&confirmed.account)))
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/user", tag = "users",
    responses((status = 200, body = UserView), (status = 401, body = crate::error::ErrorBody)))]
async fn me(user: ApiUser) -> Result<Json<UserView>, Error> {
    let s = user.0;
    Ok(Json(UserView::from(&s.user)))
}

/// Send the confirmation link again.
#[utoipa::path(post, path = "/api/v1/user/confirm-email/resend", tag = "users",
    responses((status = 200, body = Status), (status = 409, body = crate::error::ErrorBody)))]
async fn resend(State(state): State<AppState>, ApiUser(s): ApiUser) -> Result<Json<Status>, Error> {
    state
        .auth
        .accounts()
        .resend_confirmation(&s.user.id)
        .await?;
    Ok(Status::json("confirmation_sent"))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PasswordChangeRequest {
    pub new_password: String,
    /// The current password (asked whenever the account has one; while
    /// two-step verification is off, `password` is read as it too).
    #[serde(default)]
    pub current_password: Option<String>,
    /// The proof (not needed while the session is in sudo mode): the current
    /// password while two-step verification is off, a code while it is on.
    #[serde(flatten)]
    pub proof: ProofRequest,
}

/// Change the password; the account's other sessions end.
#[utoipa::path(post, path = "/api/v1/user/password", tag = "users", request_body = PasswordChangeRequest,
    responses((status = 200, body = Status), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn change_password(
    State(state): State<AppState>,
    ApiUser(s): ApiUser,
    Api(ctx): Api,
    ApiJson(r): ApiJson<PasswordChangeRequest>,
) -> Result<Json<Status>, Error> {
    state
        .auth
        .accounts()
        .change_password(
            &s,
            r.current_password.as_deref(),
            &r.new_password,
            &r.proof.proof(),
            &ctx,
        )
        .await?;
    Ok(Status::json("password_changed"))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct EmailChangeRequest {
    pub email: String,
    /// As for a password change.
    #[serde(flatten)]
    pub proof: ProofRequest,
}

/// Ask to use another email address: a link is mailed to it, and the change
/// happens when it is followed (`POST /api/v1/user/email/confirm`).
#[utoipa::path(post, path = "/api/v1/user/email", tag = "users", request_body = EmailChangeRequest,
    responses((status = 202, body = Status), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn change_email(
    State(state): State<AppState>,
    ApiUser(s): ApiUser,
    Api(ctx): Api,
    ApiJson(r): ApiJson<EmailChangeRequest>,
) -> Result<(StatusCode, Json<Status>), Error> {
    state
        .auth
        .accounts()
        .request_email_change(&s, &r.email, &r.proof.proof(), &ctx)
        .await?;
    Ok((StatusCode::ACCEPTED, Status::json("confirmation_sent")))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SignedOutEverywhere {
    /// The app passwords and applications that stopped working, by name.
    pub ended: Vec<String>,
}

/// Sign out every other session and end every app password, authorised
/// application and mailed link (a fresh proof, as for any security change).
#[utoipa::path(post, path = "/api/v1/user/sign-out-everywhere", tag = "users", request_body = super::ProofRequest,
    responses((status = 200, body = SignedOutEverywhere), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn sign_out_everywhere(
    State(state): State<AppState>,
    ApiUser(s): ApiUser,
    Api(ctx): Api,
    ApiJson(r): ApiJson<super::ProofRequest>,
) -> Result<Json<SignedOutEverywhere>, Error> {
    let ended = state
        .auth
        .credentials()
        .sign_out_everywhere(&s, &r.proof(), &ctx)
        .await?;
    Ok(Json(SignedOutEverywhere { ended }))
}

/// Confirm the new email address with the token from the link mailed to it.
#[utoipa::path(post, path = "/api/v1/user/email/confirm", tag = "users", request_body = TokenRequest,
    responses((status = 200, body = UserView), (status = 409, body = crate::error::ErrorBody), (status = 410, body = crate::error::ErrorBody)))]
async fn confirm_email_change(
    State(state): State<AppState>,
    Api(ctx): Api,
    ApiJson(r): ApiJson<TokenRequest>,
) -> Result<Json<UserView>, Error> {
    let user = state
        .auth
        .accounts()
        .confirm_email_change(&r.token, &ctx)
        .await?;
    Ok(Json(UserView::from(&user)))
}
