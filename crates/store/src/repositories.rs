//! Repositories and their collaborators.

use twostep_core::{UnixTime, UserId};

use crate::db;
use crate::{Conn, Result};

row_struct! {
    #[derive(Debug, Clone)]
    pub struct Repository {
        pub id: String,
        pub owner_id: UserId,
        pub name: String,
        pub description: String,
        pub is_private: bool,
        pub created_at: UnixTime,
    }
}

row_struct! {
    /// A repository with its owner's name, as listings show it.
    #[derive(Debug, Clone)]
    pub struct Listed {
        pub id: String,
        pub owner_id: UserId,
        pub owner: String,
        pub name: String,
        pub description: String,
        pub is_private: bool,
        pub created_at: UnixTime,
        /// `owner`, `write` or `read`.
        pub access: String,
    }
}

pub const READ: &str = "read";
pub const WRITE: &str = "write";

/// `StoreError::Conflict` when the owner has a repository of that name.
pub async fn insert(c: &mut Conn, r: &Repository) -> Result<()> {
    db::query(
        "INSERT INTO repositories (id, owner_id, name, description, is_private, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&r.id)
    .bind(&r.owner_id)
    .bind(&r.name)
    .bind(&r.description)
    .bind(r.is_private)
    .bind(r.created_at)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn by_owner_and_name(
    c: &mut Conn,
    owner: &str,
    name: &str,
) -> Result<Option<Repository>> {
    db::query_as(
        "SELECT r.id, r.owner_id, r.name, r.description, r.is_private, r.created_at
         FROM repositories r JOIN users u ON u.id = r.owner_id
         WHERE u.username = $1 AND r.name = $2",
    )
    .bind(owner)
    .bind(name)
    .fetch_optional(c)
    .await
}

/// The user's own repositories and those shared with them.
pub async fn visible_to(c: &mut Conn, user_id: &UserId) -> Result<Vec<Listed>> {
    db::query_as(
        "SELECT r.id, r.owner_id, u.username AS owner, r.name, r.description, r.is_private, r.created_at, 'owner' AS access
         FROM repositories r JOIN users u ON u.id = r.owner_id WHERE r.owner_id = $1
         UNION ALL
         SELECT r.id, r.owner_id, u.username AS owner, r.name, r.description, r.is_private, r.created_at, c.access AS access
         FROM collaborators c JOIN repositories r ON r.id = c.repo_id JOIN users u ON u.id = r.owner_id
         WHERE c.user_id = $1
         ORDER BY owner, name",
    )
    .bind(user_id)
    .fetch_all(c)
    .await
}

pub async fn delete(c: &mut Conn, id: &str) -> Result<u64> {
    let r = db::query("DELETE FROM repositories WHERE id = $1")
        .bind(id)
        .execute(c)
        .await?;
    Ok(r.rows_affected())
}

/// `read`, `write`, or `None` for a user who is not a collaborator.
pub async fn collaborator_access(
    c: &mut Conn,
    repo_id: &str,
    user_id: &UserId,
) -> Result<Option<String>> {
    db::query_scalar("SELECT access FROM collaborators WHERE repo_id = $1 AND user_id = $2")
        .bind(repo_id)
        .bind(user_id)
        .fetch_optional(c)
        .await
}

/// Adds or changes a collaborator.
pub async fn set_collaborator(
    c: &mut Conn,
    repo_id: &str,
    user_id: &UserId,
    access: &str,
    now: UnixTime,
) -> Result<()> {
    db::query("DELETE FROM collaborators WHERE repo_id = $1 AND user_id = $2")
        .bind(repo_id)
        .bind(user_id)
        .execute(&mut *c)
        .await?;
    db::query(
        "INSERT INTO collaborators (repo_id, user_id, access, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(repo_id)
    .bind(user_id)
    .bind(access)
    .bind(now)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn remove_collaborator(c: &mut Conn, repo_id: &str, user_id: &UserId) -> Result<u64> {
    let r = db::query("DELETE FROM collaborators WHERE repo_id = $1 AND user_id = $2")
        .bind(repo_id)
        .bind(user_id)
        .execute(c)
        .await?;
    Ok(r.rows_affected())
}

/// (username, access) of a repository's collaborators.
pub async fn collaborators(c: &mut Conn, repo_id: &str) -> Result<Vec<(String, String)>> {
    db::query_as(
        "SELECT u.username, c.access FROM collaborators c JOIN users u ON u.id = c.user_id
         WHERE c.repo_id = $1 ORDER BY u.username",
    )
    .bind(repo_id)
    .fetch_all(c)
    .await
}

/// `(owner, name)` of every repository, users' and workspaces', for the
/// start-up check that the folders and the records agree.
pub async fn all_paths(c: &mut Conn) -> Result<Vec<(String, String)>> {
    db::query_as(
        "SELECT u.username, r.name FROM repositories r JOIN users u ON u.id = r.owner_id
         UNION ALL
         SELECT w.name, r.name FROM workspace_repositories r JOIN workspaces w ON w.id = r.workspace_id",
    )
    .fetch_all(c)
    .await
}
