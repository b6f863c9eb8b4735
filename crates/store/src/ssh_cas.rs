//! The SSH certificate authorities workspaces trust. A removed one is kept
//! (with `removed_at`) so that a certificate it signed is refused with the
//! reason rather than unknown.

use twostep_core::{UnixTime, UserId};

use crate::db;
use crate::{Conn, Result};

row_struct! {
    #[derive(Debug, Clone)]
    pub struct SshCa {
        pub id: String,
        pub workspace_id: String,
        pub title: String,
        /// The CA's public key, one OpenSSH line without comment.
        pub public_key: String,
        /// `SHA256:…` of the CA key.
        pub fingerprint: String,
        pub created_by: UserId,
        pub created_at: UnixTime,
        pub removed_at: Option<UnixTime>,
    }
}

const COLUMNS: &str =
    "id, workspace_id, title, public_key, fingerprint, created_by, created_at, removed_at";

pub async fn insert(c: &mut Conn, ca: &SshCa) -> Result<()> {
    db::query(
        "INSERT INTO workspace_ssh_cas (id, workspace_id, title, public_key, fingerprint, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&ca.id)
    .bind(&ca.workspace_id)
    .bind(&ca.title)
    .bind(&ca.public_key)
    .bind(&ca.fingerprint)
    .bind(&ca.created_by)
    .bind(ca.created_at)
    .execute(c)
    .await?;
    Ok(())
}

/// A workspace's authorities, removed ones included, oldest first.
pub async fn of_workspace(c: &mut Conn, workspace_id: &str) -> Result<Vec<SshCa>> {
    db::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM workspace_ssh_cas WHERE workspace_id = $1 ORDER BY created_at, id"
    )))
    .bind(workspace_id)
    .fetch_all(c)
    .await
}

/// Every workspace's authority with this key (removed ones included).
pub async fn by_fingerprint(c: &mut Conn, fingerprint: &str) -> Result<Vec<SshCa>> {
    db::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM workspace_ssh_cas WHERE fingerprint = $1 ORDER BY created_at, id"
    )))
    .bind(fingerprint)
    .fetch_all(c)
    .await
}

/// Marks an authority removed; false when it is not the workspace's or gone already.
pub async fn remove(c: &mut Conn, workspace_id: &str, id: &str, now: UnixTime) -> Result<bool> {
    let r = db::query(
        "UPDATE workspace_ssh_cas SET removed_at = $1
         WHERE workspace_id = $2 AND id = $3 AND removed_at IS NULL",
    )
    .bind(now)
    .bind(workspace_id)
    .bind(id)
    .execute(c)
    .await?;
    Ok(r.rows_affected() == 1)
}
