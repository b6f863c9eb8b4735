//! Workspaces and their members: created by any user (its creator the
//! first admin), listed, shown to members, members added, changed, removed
//! (the last admin stays). Roles and what they allow are in `roles.rs`.

use twostep_core::workspace::{self as policy, stored_models, Level, Policy, Rules, SshKeyRule};
use twostep_core::{token, UserId};
use twostep_store::users::{self};
use twostep_store::workspaces::{self as ws, Role, Workspace};
use twostep_store::{Conn, StoreError};

use super::repositories::{repo_view, role_access};
use super::Workspaces;
use crate::gate::Action;
use crate::notify::Event;
use crate::repos::repositories::RepoView;
use crate::{commit, rng, AuthError, AuthService, Ctx, Proof, Result, SessionInfo};

/// What a member may do with the workspace's repositories.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkspaceRole {
    Read,
    Write,
    /// Write, plus members, repositories and the two-step policy.
    Admin,
}

impl WorkspaceRole {
    pub fn as_str(self) -> &'static str {
        Role::from(self).as_str()
    }
}

impl From<Role> for WorkspaceRole {
    fn from(r: Role) -> WorkspaceRole {
        match r {
            Role::Read => WorkspaceRole::Read,
            Role::Write => WorkspaceRole::Write,
            Role::Admin => WorkspaceRole::Admin,
        }
    }
}

impl From<WorkspaceRole> for Role {
    fn from(r: WorkspaceRole) -> Role {
        match r {
            WorkspaceRole::Read => Role::Read,
            WorkspaceRole::Write => Role::Write,
            WorkspaceRole::Admin => Role::Admin,
        }
    }
}

/// A workspace as a member sees it.
#[derive(Debug, Clone)]
pub struct WorkspaceView {
    pub name: String,
    pub role: WorkspaceRole,
    pub policy: Policy,
    pub level: Level,
    /// Authenticator models (AAGUIDs) allowed; empty: any.
    pub models: Vec<String>,
    pub ssh: super::ssh::SshRules,
    pub members: Vec<MemberView>,
    pub repositories: Vec<RepoView>,
}

#[derive(Debug, Clone)]
pub struct MemberView {
    pub username: String,
    pub role: WorkspaceRole,
    pub two_step_on: bool,
}

/// A workspace in the member's list.
#[derive(Debug, Clone)]
pub struct MembershipView {
    pub name: String,
    pub role: WorkspaceRole,
    pub policy: Policy,
    pub level: Level,
    /// Authenticator models (AAGUIDs) allowed; empty: any.
    pub models: Vec<String>,
}

/// `read`, `write` or `admin`, as forms and requests name them.
pub fn workspace_role(text: &str) -> Result<WorkspaceRole> {
    let role: Role = text.trim().parse().map_err(|_| {
        AuthError::invalid("invalid_role", "role", "The role is read, write or admin.")
    })?;
    Ok(role.into())
}

impl AuthService {
    pub(super) async fn workspace_named(&self, c: &mut Conn, name: &str) -> Result<Workspace> {
        ws::by_name(c, &name.trim().to_ascii_lowercase())
            .await?
            .ok_or(AuthError::NotFound)
    }

    /// The member's role; `NotFound` for anyone else (the two are not told apart).
    pub(super) async fn member_role(
        &self,
        c: &mut Conn,
        w: &Workspace,
        user_id: &UserId,
    ) -> Result<Role> {
        ws::role_of(c, &w.id, user_id)
            .await?
            .ok_or(AuthError::NotFound)
    }

    pub(super) async fn workspace_admin(
        &self,
        c: &mut Conn,
        w: &Workspace,
        user_id: &UserId,
    ) -> Result<()> {
        match self.member_role(c, w, user_id).await? {
            Role::Admin => Ok(()),
            _ => Err(AuthError::Forbidden(format!(
                "Only the admins of the workspace {} can do this.",
                w.name
            ))),
        }
    }
}

impl Workspaces<'_> {
    /// A new workspace, named like a user (the two share the first part of
    /// repository paths); its creator is its first admin.
    pub async fn create_workspace(
        &self,
        session: &SessionInfo,
        name: &str,
        ctx: &Ctx,
    ) -> Result<MembershipView> {
        self.allowed(Action::CreateWorkspace, session, &Proof::None, None)
            .await?;
        let name = self.valid_name(name).map_err(|e| {
            AuthError::invalid(
                "invalid_workspace_name",
                "name",
                e.to_string().replace("Usernames", "Workspace names"),
            )
        })?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let taken = || {
            AuthError::invalid(
                "workspace_name_taken",
                "name",
                format!("The name \"{name}\" is taken. Choose another."),
            )
        };
        users::lock_name(&mut tx, &name).await?;
        if users::by_username(&mut tx, &name).await?.is_some() {
            return Err(taken());
        }
        let w = Workspace {
            two_step_level: "two_step".into(),
            allowed_aaguids: String::new(),
            two_step_floor_at: None,
            ssh_key_rule: "any".into(),
            ssh_certificates_required: false,
            id: token::new_id(&mut rng()),
            name: name.clone(),
            created_by: session.user.id.clone(),
            created_at: now,
            two_step_required_at: None,
            two_step_enforced_at: None,
        };
        match ws::insert(&mut tx, &w).await {
            Err(StoreError::Conflict) => return Err(taken()),
            other => other?,
        }
        ws::set_member(&mut tx, &w.id, &session.user.id, Role::Admin, now).await?;
        self.audit(
            &mut tx,
            &session.user.id,
            now,
            Event::WorkspaceCreated,
            &name,
            ctx,
        )
        .await?;
        commit(tx).await?;
        Ok(MembershipView {
            name,
            role: WorkspaceRole::Admin,
            policy: Policy::Off,
            level: Level::TwoStep,
            models: Vec::new(),
        })
    }

    pub async fn workspaces_of(&self, user_id: &UserId) -> Result<Vec<MembershipView>> {
        let now = self.now();
        let mut c = self.store().conn().await?;
        Ok(ws::of_user(&mut c, user_id)
            .await?
            .into_iter()
            .map(|m| MembershipView {
                name: m.name,
                role: m.role.into(),
                policy: policy::policy(m.two_step_enforced_at, now),
                level: Level::stored(&m.two_step_level),
                models: stored_models(&m.allowed_aaguids),
            })
            .collect())
    }

    /// A workspace as one of its members sees it.
    pub async fn workspace(&self, viewer: &UserId, name: &str) -> Result<WorkspaceView> {
        let now = self.now();
        let mut c = self.store().conn().await?;
        let w = self.workspace_named(&mut c, name).await?;
        let role = self.member_role(&mut c, &w, viewer).await?;
        let members = ws::members(&mut c, &w.id)
            .await?
            .into_iter()
            .map(|m| MemberView {
                username: m.username,
                role: m.role.into(),
                two_step_on: m.two_step_enabled_at.is_some(),
            })
            .collect();
        let repositories = ws::repos(&mut c, &w.id)
            .await?
            .into_iter()
            .map(|r| repo_view(&w, r, role_access(role)))
            .collect();
        let ssh = self.ssh_rules_of(&mut c, &w).await?;
        Ok(WorkspaceView {
            policy: policy::policy(w.two_step_enforced_at, now),
            level: Level::stored(&w.two_step_level),
            models: stored_models(&w.allowed_aaguids),
            ssh,
            name: w.name,
            role: role.into(),
            members,
            repositories,
        })
    }

    /// Adds a member, changes their role, or with `None` removes them. The
    /// last admin stays.
    pub async fn set_workspace_member(
        &self,
        session: &SessionInfo,
        workspace: &str,
        username: &str,
        role: Option<WorkspaceRole>,
        proof: &Proof,
        ctx: &Ctx,
    ) -> Result<()> {
        let role = role.map(Role::from);
        {
            let mut c = self.store().conn().await?;
            let w = self.workspace_named(&mut c, workspace).await?;
            self.workspace_admin(&mut c, &w, &session.user.id).await?;
        }
        let (mut tx, _) = self
            .begin_action(
                Action::ManageWorkspaceMembers,
                session,
                proof,
                Some(workspace),
                ctx,
            )
            .await?;
        let now = self.now();
        let w = self.workspace_named(&mut tx, workspace).await?;
        self.workspace_admin(&mut tx, &w, &session.user.id).await?;
        let who = username.trim().to_ascii_lowercase();
        let target = users::by_username(&mut tx, &who).await?.ok_or_else(|| {
            AuthError::invalid(
                "unknown_user",
                "username",
                format!("There is no user called \"{}\".", username.trim()),
            )
        })?;
        let admins_left = ws::members(&mut tx, &w.id)
            .await?
            .iter()
            .filter(|m| m.role == Role::Admin && m.user_id != target.id)
            .count();
        if role != Some(Role::Admin) && admins_left == 0 {
            return Err(AuthError::Conflict(format!(
                "{} is the last admin of {}: make someone else an admin first.",
                target.username, w.name
            )));
        }
        let detail = match role {
            Some(r) => {
                ws::set_member(&mut tx, &w.id, &target.id, r, now).await?;
                format!("{}: {} is {}", w.name, target.username, r.as_str())
            }
            None => {
                if ws::remove_member(&mut tx, &w.id, &target.id).await? == 0 {
                    return Err(AuthError::NotFound);
                }
                format!("{}: {} removed", w.name, target.username)
            }
        };
        self.audit(
            &mut tx,
            &session.user.id,
            now,
            Event::WorkspaceMembersChanged,
            &detail,
            ctx,
        )
        .await?;
        commit(tx).await?;
        if let (Some(_), p @ (Policy::Grace { until } | Policy::Enforced { since: until })) =
            (role, policy::policy(w.two_step_enforced_at, now))
        {
            let level = Level::stored(&w.two_step_level);
            let models = stored_models(&w.allowed_aaguids);
            let rules = Rules {
                policy: p,
                level,
                two_step_since: None,
                models: &models,
                ssh_keys: SshKeyRule::Any,
                certificates_required: false,
            };
            if !self.account_meets(&target, &rules).await? {
                self.mail_policy(&target, &w.name, level, until).await;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_is_read_write_or_admin_and_nothing_else() {
        for (text, role) in [
            ("read", WorkspaceRole::Read),
            (" write ", WorkspaceRole::Write),
            ("admin", WorkspaceRole::Admin),
        ] {
            let got = workspace_role(text).unwrap();
            assert_eq!(got, role);
            assert_eq!(workspace_role(got.as_str()).unwrap(), role);
        }
        for bad in ["owner", "ADMIN", ""] {
            assert_eq!(
                workspace_role(bad).unwrap_err().code(),
                "invalid_role",
                "{bad:?}"
            );
        }
    }
}
