use crate::routes::{Routes, Surface};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use twostep_auth::Action;
use twostep_auth::SshKey;
use twostep_auth::UnixTime;

use super::{listed, ApiJson};
use crate::session::{Api, ApiUser};
use crate::{AppState, Error};
use twostep_auth::Proof;

pub fn router() -> Routes {
    Routes::new(Surface::Api)
        .get("/user/ssh-keys", Action::ReadAccount, list)
        .post("/user/ssh-keys", Action::AddSshKey, add)
        .delete("/user/ssh-keys/{id}", Action::RemoveSshKey, remove)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SshKeyView {
    pub id: String,
    pub title: String,
    pub algorithm: String,
    pub bits: i64,
    /// `SHA256:…`, as `ssh-keygen -lf` prints it.
    pub fingerprint: String,
    pub public_key: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    /// A FIDO key's options, as authorized_keys writes them
    /// (`verify-required`, `no-touch-required`); empty for none.
    pub options: String,
}

impl From<SshKey> for SshKeyView {
    fn from(k: SshKey) -> Self {
        SshKeyView {
            id: k.id,
            title: k.title,
            algorithm: k.algorithm,
            bits: k.bits,
            fingerprint: k.fingerprint,
            public_key: k.public_key,
            created_at: k.created_at.secs(),
            last_used_at: k.last_used_at.map(UnixTime::secs),
            options: k.options,
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct AddKeyRequest {
    #[serde(default)]
    pub title: String,
    /// One OpenSSH public key line.
    pub key: String,
    /// Proof of identity unless the session is in sudo mode.
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
}

/// The signed-in user's SSH keys.
#[utoipa::path(get, path = "/api/v1/user/ssh-keys", tag = "ssh-keys", responses((status = 200, body = [SshKeyView])))]
async fn list(
    State(state): State<AppState>,
    user: ApiUser,
) -> Result<Json<Vec<SshKeyView>>, Error> {
    Ok(listed(
        state.auth.credentials().ssh_keys(&user.0.user.id).await?,
    ))
}

/// Add an SSH public key (ed25519, ecdsa, rsa ≥ 2048 bits).
#[utoipa::path(post, path = "/api/v1/user/ssh-keys", tag = "ssh-keys", request_body = AddKeyRequest,
    responses((status = 201, body = SshKeyView), (status = 422, body = crate::error::ErrorBody)))]
async fn add(
    State(state): State<AppState>,
    ApiUser(s): ApiUser,
    Api(ctx): Api,
    ApiJson(r): ApiJson<AddKeyRequest>,
) -> Result<(StatusCode, Json<SshKeyView>), Error> {
    let k = state
        .auth
        .credentials()
        .add_ssh_key(
            &s,
            &r.title,
            &r.key,
            &Proof::from_fields(r.code.as_deref(), r.password.as_deref()),
            &ctx,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(k.into())))
}

/// Remove an SSH key.
#[utoipa::path(delete, path = "/api/v1/user/ssh-keys/{id}", tag = "ssh-keys", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)))]
async fn remove(
    State(state): State<AppState>,
    ApiUser(s): ApiUser,
    Api(ctx): Api,
    Path(id): Path<String>,
) -> Result<StatusCode, Error> {
    state
        .auth
        .credentials()
        .remove_ssh_key(&s, &id, &Proof::None, &ctx)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
