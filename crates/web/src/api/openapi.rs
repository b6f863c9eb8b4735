use crate::routes::{Routes, Surface};
use axum::response::IntoResponse;
use twostep_auth::Action;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "twostep API", description = "Accounts, sessions, SSH keys and two-step verification. Authenticate with the session cookie set by POST /api/v1/session, or HTTP Basic with your username and an app password (or your account password while two-step verification is off). App passwords never change security settings."),
    paths(
        super::users::sign_up, super::users::confirm_email, super::users::me, super::users::resend,
        super::users::change_password, super::users::change_email, super::users::confirm_email_change, super::users::sign_out_everywhere,
        super::session::sign_in, super::session::second_step, super::session::sign_out, super::session::sudo,
        super::password::forgot, super::password::reset,
        super::ssh_keys::list, super::ssh_keys::add, super::ssh_keys::remove,
        super::two_step::status, super::two_step::setup, super::two_step::verify, super::two_step::confirm,
        super::two_step::regenerate, super::two_step::replace, super::two_step::disable,
        super::two_step::add_authenticator, super::two_step::remove_authenticator, super::two_step::codes_saved,
        super::security_log::list,
        super::repositories::list, super::repositories::create, super::repositories::show, super::repositories::remove,
        super::repositories::collaborators, super::repositories::set_collaborator, super::repositories::remove_collaborator,
        super::app_passwords::list, super::app_passwords::create, super::app_passwords::revoke,
        super::oauth_apps::list, super::oauth_apps::register, super::oauth_apps::authorized, super::oauth_apps::revoke,
        super::security_keys::list, super::security_keys::remove,
        super::recovery::status, super::recovery::mail_start, super::recovery::mail_finish, super::recovery::finish,
        super::recovery::start, super::recovery::cancel,
        super::admin::users, super::admin::user, super::admin::reset, super::admin::unlock, super::admin::end_sessions, super::sessions::list, super::sessions::end, super::sessions::end_others,
        super::admin::grant, super::admin::revoke, super::admin::approvals, super::admin::approve,
        super::admin::cancel, super::admin::audit, super::admin::assign_token, super::hardware_tokens::claim_token,
        super::workspaces::list, super::workspaces::create, super::workspaces::show,
        super::workspaces::set_member, super::workspaces::remove_member,
        super::workspaces::create_repo, super::workspaces::set_policy,
        super::workspace_ssh::set_rules, super::workspace_ssh::add_authority, super::workspace_ssh::remove_authority,
    ),
    tags((name = "users"), (name = "session"), (name = "password"), (name = "ssh-keys"), (name = "two-step"), (name = "repositories"), (name = "app-passwords"), (name = "oauth"), (name = "recovery"), (name = "admin"), (name = "workspaces"))
)]
pub struct ApiDoc;

pub fn router() -> Routes {
    Routes::new(Surface::Api).get("/openapi.json", Action::ReadPublic, serve)
}

async fn serve() -> impl IntoResponse {
    axum::Json(ApiDoc::openapi())
}

/// The document as the server serves it (for tooling and tests).
pub fn document() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_default()
}
