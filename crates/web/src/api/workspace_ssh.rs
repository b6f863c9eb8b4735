//! /api/v1/workspaces/{workspace}/ssh-rules and
//! /api/v1/workspaces/{workspace}/certificate-authorities: which SSH keys
//! reach a workspace's repositories, and the authorities whose user
//! certificates do.

use crate::routes::{Routes, Surface};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use twostep_auth::{Action, CaView, SshKeyRule, SshRules};

use super::{ApiJson, ProofRequest};
use crate::session::{Api, ApiUser};
use crate::{AppState, Error};

pub fn router() -> Routes {
    Routes::new(Surface::Api)
        .post(
            "/workspaces/{workspace}/ssh-rules",
            Action::ManageWorkspaceSsh,
            set_rules,
        )
        .post(
            "/workspaces/{workspace}/certificate-authorities",
            Action::ManageWorkspaceSsh,
            add_authority,
        )
        .delete(
            "/workspaces/{workspace}/certificate-authorities/{id}",
            Action::ManageWorkspaceSsh,
            remove_authority,
        )
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuthorityInfo {
    pub id: String,
    pub title: String,
    /// `SHA256:…` of the authority's key.
    pub fingerprint: String,
    pub public_key: String,
    pub added_at: i64,
    /// Set once removed: its certificates are refused, with this date.
    pub removed_at: Option<i64>,
}

impl From<CaView> for AuthorityInfo {
    fn from(c: CaView) -> Self {
        AuthorityInfo {
            id: c.id,
            title: c.title,
            fingerprint: c.fingerprint,
            public_key: c.public_key,
            added_at: c.added_at.secs(),
            removed_at: c.removed_at.map(|t| t.secs()),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SshRulesInfo {
    /// `any`, `fido` (FIDO security-key SSH keys only) or `fido_verified`
    /// (FIDO keys marked verify-required).
    pub keys: String,
    /// Only certificates signed by one of its authorities, over SSH.
    pub certificates_required: bool,
    pub certificate_authorities: Vec<AuthorityInfo>,
}

impl From<SshRules> for SshRulesInfo {
    fn from(r: SshRules) -> Self {
        SshRulesInfo {
            keys: r.keys.as_str().into(),
            certificates_required: r.certificates_required,
            certificate_authorities: r.authorities.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SetSshRules {
    /// `any`, `fido` or `fido_verified`.
    pub keys: String,
    #[serde(default)]
    pub certificates_required: bool,
    #[serde(flatten)]
    #[schema(inline)]
    pub proof: ProofRequest,
}

/// Which SSH keys reach the workspace's repositories (workspace admins, sudo).
#[utoipa::path(post, path = "/api/v1/workspaces/{workspace}/ssh-rules", tag = "workspaces", params(("workspace" = String, Path)), request_body = SetSshRules,
    responses((status = 200, body = SshRulesInfo), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub(super) async fn set_rules(
    State(state): State<AppState>,
    ApiUser(s): ApiUser,
    Api(ctx): Api,
    Path(workspace): Path<String>,
    ApiJson(r): ApiJson<SetSshRules>,
) -> Result<Json<SshRulesInfo>, Error> {
    let keys = SshKeyRule::parse(r.keys.trim()).ok_or_else(|| {
        Error::from(twostep_auth::AuthError::invalid(
            "invalid_ssh_key_rule",
            "keys",
            "SSH keys are any, fido or fido_verified.",
        ))
    })?;
    let rules = state
        .auth
        .workspaces()
        .set_workspace_ssh_rules(
            &s,
            &workspace,
            keys,
            r.certificates_required,
            &r.proof.proof(),
            &ctx,
        )
        .await?;
    Ok(Json(rules.into()))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct AddAuthority {
    pub title: String,
    /// The authority's public key, one OpenSSH line (`ssh-ed25519 AAAA… ca`).
    pub public_key: String,
    #[serde(flatten)]
    #[schema(inline)]
    pub proof: ProofRequest,
}

/// Trust an SSH certificate authority for the workspace (admins, sudo);
/// every admin is mailed.
#[utoipa::path(post, path = "/api/v1/workspaces/{workspace}/certificate-authorities", tag = "workspaces", params(("workspace" = String, Path)), request_body = AddAuthority,
    responses((status = 201, body = AuthorityInfo), (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub(super) async fn add_authority(
    State(state): State<AppState>,
    ApiUser(s): ApiUser,
    Api(ctx): Api,
    Path(workspace): Path<String>,
    ApiJson(r): ApiJson<AddAuthority>,
) -> Result<(StatusCode, Json<AuthorityInfo>), Error> {
    let ca = state
        .auth
        .workspaces()
        .add_certificate_authority(
            &s,
            &workspace,
            &r.title,
            &r.public_key,
            &r.proof.proof(),
            &ctx,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(ca.into())))
}

/// Stop trusting an authority (admins, sudo mode): its certificates are
/// refused from now on, with the reason.
#[utoipa::path(delete, path = "/api/v1/workspaces/{workspace}/certificate-authorities/{id}", tag = "workspaces", params(("workspace" = String, Path), ("id" = String, Path)),
    responses((status = 204), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(super) async fn remove_authority(
    State(state): State<AppState>,
    ApiUser(s): ApiUser,
    Api(ctx): Api,
    Path((workspace, id)): Path<(String, String)>,
) -> Result<StatusCode, Error> {
    state
        .auth
        .workspaces()
        .remove_certificate_authority(&s, &workspace, &id, &twostep_auth::Proof::None, &ctx)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
