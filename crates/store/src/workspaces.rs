//! Workspaces, their members and their repositories.

use twostep_core::{UnixTime, UserId};

use crate::db;
use crate::{Conn, Result};

text_enum!(
    /// What a member may do with the workspace's repositories.
    Role {
        Read => "read",
        Write => "write",
        /// Write, plus members, repositories and the two-step policy.
        Admin => "admin",
    }
);

row_struct! {
    #[derive(Debug, Clone)]
    pub struct Workspace {
        pub id: String,
        pub name: String,
        pub created_by: UserId,
        pub created_at: UnixTime,
        /// When an admin turned "require two-step verification" on.
        pub two_step_required_at: Option<UnixTime>,
        /// From then on, nobody without two-step reaches the repositories.
        pub two_step_enforced_at: Option<UnixTime>,
        /// What the requirement asks: `two_step` or `phishing_resistant`.
        pub two_step_level: String,
        /// Authenticator models (AAGUIDs) allowed, space-separated; '' = any.
        pub allowed_aaguids: String,
        /// Plain two-step enforced from then while a raised level's grace runs.
        pub two_step_floor_at: Option<UnixTime>,
        /// SSH keys accepted for its repositories: `any`, `fido`, `fido_verified`.
        pub ssh_key_rule: String,
        /// Only certificates signed by one of its authorities, over SSH.
        pub ssh_certificates_required: bool,
    }
}

const WORKSPACE: &str =
    "w.id, w.name, w.created_by, w.created_at, w.two_step_required_at, w.two_step_enforced_at, \
     w.two_step_level, w.allowed_aaguids, w.two_step_floor_at, w.ssh_key_rule, w.ssh_certificates_required";

/// `StoreError::Conflict` when the name is taken by another workspace.
pub async fn insert(c: &mut Conn, w: &Workspace) -> Result<()> {
    db::query("INSERT INTO workspaces (id, name, created_by, created_at) VALUES ($1, $2, $3, $4)")
        .bind(&w.id)
        .bind(&w.name)
        .bind(&w.created_by)
        .bind(w.created_at)
        .execute(c)
        .await?;
    Ok(())
}

pub async fn by_name(c: &mut Conn, name: &str) -> Result<Option<Workspace>> {
    db::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {WORKSPACE} FROM workspaces w WHERE w.name = $1"
    )))
    .bind(name)
    .fetch_optional(c)
    .await
}

/// A workspace's requirement as stored.
#[derive(Debug, Clone, Copy)]
pub struct PolicyRow<'a> {
    pub required_at: Option<UnixTime>,
    pub enforced_at: Option<UnixTime>,
    pub level: &'a str,
    pub aaguids: &'a str,
    pub floor_at: Option<UnixTime>,
}

/// `enforced_at: None` turns the policy off; `level` and `aaguids` say what it asks.
pub async fn set_policy(c: &mut Conn, id: &str, p: PolicyRow<'_>) -> Result<()> {
    db::query(
        "UPDATE workspaces SET two_step_required_at = $1, two_step_enforced_at = $2,
           two_step_level = $3, allowed_aaguids = $4, two_step_floor_at = $5 WHERE id = $6",
    )
    .bind(p.required_at)
    .bind(p.enforced_at)
    .bind(p.level)
    .bind(p.aaguids)
    .bind(p.floor_at)
    .bind(id)
    .execute(c)
    .await?;
    Ok(())
}

/// The SSH rules of a workspace: which keys, and whether only certificates.
pub async fn set_ssh_rules(
    c: &mut Conn,
    id: &str,
    key_rule: &str,
    certificates_required: bool,
) -> Result<()> {
    db::query(
        "UPDATE workspaces SET ssh_key_rule = $1, ssh_certificates_required = $2 WHERE id = $3",
    )
    .bind(key_rule)
    .bind(certificates_required)
    .bind(id)
    .execute(c)
    .await?;
    Ok(())
}

row_struct! {
    /// A workspace with the viewer's role, as listings show it.
    #[derive(Debug, Clone)]
    pub struct Membership {
        pub name: String,
        pub role: Role,
        pub two_step_enforced_at: Option<UnixTime>,
        pub two_step_level: String,
        pub allowed_aaguids: String,
        pub two_step_floor_at: Option<UnixTime>,
    }
}

/// The workspaces `user_id` belongs to, by name.
pub async fn of_user(c: &mut Conn, user_id: &UserId) -> Result<Vec<Membership>> {
    db::query_as(
        "SELECT w.name, m.role, w.two_step_enforced_at, w.two_step_level, w.allowed_aaguids, w.two_step_floor_at FROM workspace_members m
         JOIN workspaces w ON w.id = m.workspace_id WHERE m.user_id = $1 ORDER BY w.name",
    )
    .bind(user_id)
    .fetch_all(c)
    .await
}

pub async fn role_of(c: &mut Conn, workspace_id: &str, user_id: &UserId) -> Result<Option<Role>> {
    let r: Option<String> = db::query_scalar(
        "SELECT role FROM workspace_members WHERE workspace_id = $1 AND user_id = $2",
    )
    .bind(workspace_id)
    .bind(user_id)
    .fetch_optional(c)
    .await?;
    r.map(Role::try_from).transpose()
}

/// Adds a member or changes their role.
pub async fn set_member(
    c: &mut Conn,
    workspace_id: &str,
    user_id: &UserId,
    role: Role,
    now: UnixTime,
) -> Result<()> {
    db::query("DELETE FROM workspace_members WHERE workspace_id = $1 AND user_id = $2")
        .bind(workspace_id)
        .bind(user_id)
        .execute(&mut *c)
        .await?;
    db::query(
        "INSERT INTO workspace_members (workspace_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(workspace_id)
    .bind(user_id)
    .bind(role.as_str())
    .bind(now)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn remove_member(c: &mut Conn, workspace_id: &str, user_id: &UserId) -> Result<u64> {
    let r = db::query("DELETE FROM workspace_members WHERE workspace_id = $1 AND user_id = $2")
        .bind(workspace_id)
        .bind(user_id)
        .execute(c)
        .await?;
    Ok(r.rows_affected())
}

row_struct! {
    /// A member as the workspace page lists them.
    #[derive(Debug, Clone)]
    pub struct Member {
        pub user_id: UserId,
        pub username: String,
        pub email: String,
        pub role: Role,
        pub two_step_enabled_at: Option<UnixTime>,
    }
}

pub async fn members(c: &mut Conn, workspace_id: &str) -> Result<Vec<Member>> {
    db::query_as(
        "SELECT u.id AS user_id, u.username, u.email, m.role, u.two_step_enabled_at
         FROM workspace_members m JOIN users u ON u.id = m.user_id
         WHERE m.workspace_id = $1 ORDER BY u.username",
    )
    .bind(workspace_id)
    .fetch_all(c)
    .await
}

row_struct! {
    #[derive(Debug, Clone)]
    pub struct WorkspaceRepo {
        pub id: String,
        pub workspace_id: String,
        pub name: String,
        pub description: String,
        pub is_private: bool,
        pub created_by: UserId,
        pub created_at: UnixTime,
    }
}

/// `StoreError::Conflict` when the workspace has a repository of that name.
pub async fn insert_repo(c: &mut Conn, r: &WorkspaceRepo) -> Result<()> {
    db::query(
        "INSERT INTO workspace_repositories (id, workspace_id, name, description, is_private, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&r.id)
    .bind(&r.workspace_id)
    .bind(&r.name)
    .bind(&r.description)
    .bind(r.is_private)
    .bind(&r.created_by)
    .bind(r.created_at)
    .execute(c)
    .await?;
    Ok(())
}

pub async fn repo(c: &mut Conn, workspace_id: &str, name: &str) -> Result<Option<WorkspaceRepo>> {
    db::query_as(
        "SELECT id, workspace_id, name, description, is_private, created_by, created_at
         FROM workspace_repositories WHERE workspace_id = $1 AND name = $2",
    )
    .bind(workspace_id)
    .bind(name)
    .fetch_optional(c)
    .await
}

pub async fn repos(c: &mut Conn, workspace_id: &str) -> Result<Vec<WorkspaceRepo>> {
    db::query_as(
        "SELECT id, workspace_id, name, description, is_private, created_by, created_at
         FROM workspace_repositories WHERE workspace_id = $1 ORDER BY name",
    )
    .bind(workspace_id)
    .fetch_all(c)
    .await
}
