use crate::routes::{Routes, Surface};
use axum::extract::{Path, State};
use axum::Json;
use serde::Serialize;
use twostep_auth::Action;
use twostep_auth::UnixTime;
use twostep_auth::{RecoveryCode, SetupInfo, SetupPurpose, VerifyOutcome};

use super::{ApiJson, CodeRequest, RecoveryCodes, Status, TokenRequest};
use crate::session::{Api, ApiUser};
use crate::{AppState, Error};

pub fn router() -> Routes {
    Routes::new(Surface::Api)
        .get("/user/two-step", Action::ReadAccount, status)
        .post("/user/two-step/setup", Action::SetUpTwoStep, setup)
        .post("/user/two-step/setup/verify", Action::SetUpTwoStep, verify)
        .post("/user/two-step/confirm", Action::SetUpTwoStep, confirm)
        .post(
            "/user/two-step/recovery-codes",
            Action::NewRecoveryCodes,
            regenerate,
        )
        .post(
            "/user/two-step/recovery-codes/saved",
            Action::SetUpTwoStep,
            codes_saved,
        )
        .post("/user/two-step/replace", Action::ReplaceDevice, replace)
        .post(
            "/user/two-step/authenticators",
            Action::AddAuthenticator,
            add_authenticator,
        )
        .post(
            "/user/two-step/authenticators/{id}/remove",
            Action::RemoveAuthenticator,
            remove_authenticator,
        )
        .post("/user/two-step/disable", Action::DisableTwoStep, disable)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Checklist {
    pub email_confirmed: bool,
    pub password_set: bool,
    pub has_ssh_key: bool,
    pub ready: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuthenticatorView {
    pub id: String,
    pub name: String,
    pub activated_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TwoStepView {
    pub enabled: bool,
    pub enabled_at: Option<i64>,
    pub checklist: Checklist,
    pub authenticators: Vec<AuthenticatorView>,
    pub recovery_codes_remaining: i64,
    /// Which code of the newest list (1..6) is still to be typed back to show
    /// it was saved (`POST /api/v1/user/two-step/recovery-codes/saved`); null once done.
    pub recovery_code_to_type: Option<i64>,
    pub setup_in_progress: bool,
    pub awaiting_email_confirmation: bool,
    /// Set while too many wrong codes keep two-step sign-in locked (unix seconds).
    pub locked_until: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SetupView {
    pub authenticator_id: String,
    /// `otpauth://totp/…` for the QR code.
    pub otpauth_uri: String,
    /// Account and key for apps that cannot scan.
    pub account: String,
    pub key: String,
    pub issuer: String,
    /// The QR code as an SVG document.
    pub qr_svg: String,
    /// The new authenticator's name.
    pub name: String,
    /// What finishing the setup does: `enable`, `replace` or `add`.
    pub purpose: String,
    /// `purpose == "replace"` (kept for older clients).
    pub replacing: bool,
}

impl From<SetupInfo> for SetupView {
    fn from(i: SetupInfo) -> Self {
        SetupView {
            qr_svg: crate::qr::svg(&i.otpauth_uri),
            authenticator_id: i.authenticator_id,
            otpauth_uri: i.otpauth_uri,
            account: i.account,
            key: i.key,
            issuer: i.issuer,
            name: i.name,
            purpose: i.purpose.as_str().to_string(),
            replacing: i.purpose == SetupPurpose::Replace,
        }
    }
}

fn codes(c: Vec<RecoveryCode>) -> Json<RecoveryCodes> {
    Json(RecoveryCodes {
        recovery_codes: c.iter().map(|c| c.display().to_string()).collect(),
    })
}

/// Two-step verification status and the setup checklist.
#[utoipa::path(get, path = "/api/v1/user/two-step", tag = "two-step", responses((status = 200, body = TwoStepView)))]
async fn status(State(state): State<AppState>, user: ApiUser) -> Result<Json<TwoStepView>, Error> {
    let s = user.0;
    let user = state.auth.accounts().user(&s.user.id).await?;
    let st = state.auth.factors().two_step_status(&user.id).await?;
    Ok(Json(TwoStepView {
        enabled: st.enabled_at.is_some(),
        enabled_at: st.enabled_at.map(UnixTime::secs),
        checklist: Checklist {
            email_confirmed: st.checklist.email_confirmed,
            password_set: st.checklist.password_set,
            has_ssh_key: st.checklist.has_ssh_key,
            ready: st.checklist.ready(),
        },
        authenticators: st
            .authenticators
            .into_iter()
            .map(|a| AuthenticatorView {
                id: a.id,
                name: a.name,
                activated_at: a.activated_at.map(UnixTime::secs),
                last_used_at: a.last_used_at.map(UnixTime::secs),
            })
            .collect(),
        recovery_codes_remaining: st.recovery_codes_remaining,
        recovery_code_to_type: user.recovery_code_to_type,
        setup_in_progress: st.setup_in_progress,
        awaiting_email_confirmation: st.awaiting_confirmation,
        locked_until: st.locked_until.map(UnixTime::secs),
    }))
}

/// Start setting up an authenticator app (new secret, QR code, account and key).
#[utoipa::path(post, path = "/api/v1/user/two-step/setup", tag = "two-step",
    responses((status = 200, body = SetupView), (status = 403, body = crate::error::ErrorBody)))]
async fn setup(
    State(state): State<AppState>,
    ApiUser(s): ApiUser,
    Api(ctx): Api,
) -> Result<Json<SetupView>, Error> {
    Ok(Json(
        state.auth.factors().begin_setup(&s, &ctx).await?.into(),
    ))
}

/// Check the first code from the app: mails the confirmation link (or, when replacing, switches at once).
#[utoipa::path(post, path = "/api/v1/user/two-step/setup/verify", tag = "two-step", request_body = CodeRequest,
    responses((status = 200, body = Status, description = "`confirmation_mail_sent`, `replaced` or `added`"), (status = 422, body = crate::error::ErrorBody)))]
async fn verify(
    State(state): State<AppState>,
    ApiUser(s): ApiUser,
    Api(ctx): Api,
    ApiJson(r): ApiJson<CodeRequest>,
) -> Result<Json<Status>, Error> {
    Ok(
        match state.auth.factors().verify_setup(&s, &r.code, &ctx).await? {
            VerifyOutcome::ConfirmationSent { .. } => Status::json("confirmation_mail_sent"),
            VerifyOutcome::Replaced => Status::json("replaced"),
            VerifyOutcome::Added => Status::json("added"),
        },
    )
}

/// Turn two-step verification on with the mailed token. Returns the recovery codes, once.
#[utoipa::path(post, path = "/api/v1/user/two-step/confirm", tag = "two-step", request_body = TokenRequest,
    responses((status = 200, body = RecoveryCodes), (status = 410, body = crate::error::ErrorBody)))]
async fn confirm(
    State(state): State<AppState>,
    ApiUser(s): ApiUser,
    Api(ctx): Api,
    ApiJson(r): ApiJson<TokenRequest>,
) -> Result<Json<RecoveryCodes>, Error> {
    Ok(codes(
        state
            .auth
            .factors()
            .confirm_two_step(&s, &r.token, &ctx)
            .await?,
    ))
}

/// Generate new recovery codes (old ones stop working). Needs a current code or recovery code.
#[utoipa::path(post, path = "/api/v1/user/two-step/recovery-codes", tag = "two-step", request_body = CodeRequest,
    responses((status = 200, body = RecoveryCodes), (status = 401, body = crate::error::ErrorBody)))]
async fn regenerate(
    State(state): State<AppState>,
    ApiUser(s): ApiUser,
    Api(ctx): Api,
    ApiJson(r): ApiJson<CodeRequest>,
) -> Result<Json<RecoveryCodes>, Error> {
    Ok(codes(
        state
            .auth
            .factors()
            .regenerate_recovery_codes(&s, &r.proof(), &ctx)
            .await?,
    ))
}

/// Replace the device: confirm with a current code, get a new setup; finish with setup/verify.
#[utoipa::path(post, path = "/api/v1/user/two-step/replace", tag = "two-step", request_body = CodeRequest,
    responses((status = 200, body = SetupView), (status = 401, body = crate::error::ErrorBody)))]
async fn replace(
    State(state): State<AppState>,
    ApiUser(s): ApiUser,
    Api(ctx): Api,
    ApiJson(r): ApiJson<CodeRequest>,
) -> Result<Json<SetupView>, Error> {
    Ok(Json(
        state
            .auth
            .factors()
            .start_replace(&s, &r.proof(), &ctx)
            .await?
            .into(),
    ))
}

/// Turn two-step verification off. Needs a current code or recovery code.
#[utoipa::path(post, path = "/api/v1/user/two-step/disable", tag = "two-step", request_body = CodeRequest,
    responses((status = 200, body = Status), (status = 401, body = crate::error::ErrorBody)))]
async fn disable(
    State(state): State<AppState>,
    ApiUser(s): ApiUser,
    Api(ctx): Api,
    ApiJson(r): ApiJson<CodeRequest>,
) -> Result<Json<Status>, Error> {
    state
        .auth
        .factors()
        .disable_two_step(&s, &r.proof(), &ctx)
        .await?;
    Ok(Status::json("disabled"))
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
pub struct AddAuthenticatorRequest {
    /// What to call it, e.g. `work phone` or `blue token` (at most 60 characters).
    pub name: String,
    /// A current code or recovery code; not needed in sudo mode.
    #[serde(default)]
    pub code: Option<String>,
}

/// Add one more authenticator (another phone, a hardware token): confirm with
/// a current code, get a setup; finish with setup/verify.
#[utoipa::path(post, path = "/api/v1/user/two-step/authenticators", tag = "two-step", request_body = AddAuthenticatorRequest,
    responses((status = 200, body = SetupView), (status = 401, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn add_authenticator(
    State(state): State<AppState>,
    ApiUser(s): ApiUser,
    Api(ctx): Api,
    ApiJson(r): ApiJson<AddAuthenticatorRequest>,
) -> Result<Json<SetupView>, Error> {
    let proof = twostep_auth::Proof::from_fields(r.code.as_deref(), None);
    Ok(Json(
        state
            .auth
            .factors()
            .start_add_authenticator(&s, &r.name, &proof, &ctx)
            .await?
            .into(),
    ))
}

/// Remove an authenticator; needs a current code or recovery code. The last
/// second factor cannot be removed while two-step verification is on.
#[utoipa::path(post, path = "/api/v1/user/two-step/authenticators/{id}/remove", tag = "two-step", request_body = CodeRequest,
    params(("id" = String, Path)), responses((status = 200, body = Status), (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
async fn remove_authenticator(
    State(state): State<AppState>,
    ApiUser(s): ApiUser,
    Api(ctx): Api,
    Path(id): Path<String>,
    ApiJson(r): ApiJson<CodeRequest>,
) -> Result<Json<Status>, Error> {
    state
        .auth
        .factors()
        .remove_authenticator(&s, &id, &r.proof(), &ctx)
        .await?;
    Ok(Status::json("removed"))
}

/// Show that the newest recovery codes were saved: type back the code whose
/// number `recovery_code_to_type` gives (it stays usable). A wrong one counts
/// like a wrong code.
#[utoipa::path(post, path = "/api/v1/user/two-step/recovery-codes/saved", tag = "two-step", request_body = CodeRequest,
    responses((status = 200, body = Status), (status = 401, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
async fn codes_saved(
    State(state): State<AppState>,
    ApiUser(s): ApiUser,
    Api(ctx): Api,
    ApiJson(r): ApiJson<CodeRequest>,
) -> Result<Json<Status>, Error> {
    state
        .auth
        .factors()
        .confirm_codes_saved(&s, &r.code, &ctx)
        .await?;
    Ok(Status::json("confirmed"))
}
