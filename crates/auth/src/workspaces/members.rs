//! Workspaces: created by any user, their members (read, write, admin), their
//! repositories, and the "require two-step verification" policy with its
//! grace period. Repository access for workspaces is decided here, once,
//! for SSH, HTTPS, pages and API alike (`workspace_repo`).

use twostep_core::repo::Access;
use twostep_core::workspace::{self as policy, Policy, DEFAULT_GRACE, MAX_GRACE};
use twostep_core::{token, UnixTime, UserId};
use twostep_store::users::{self, User};
use twostep_store::workspaces::{self as ws, Role, Workspace, WorkspaceRepo};
use twostep_store::{Conn, StoreError};

use super::Workspaces;
use crate::error::utc;
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
}

/// `read`, `write` or `admin`, as forms and requests name them.
pub fn workspace_role(text: &str) -> Result<WorkspaceRole> {
    let role: Role = text.trim().parse().map_err(|_| {
        AuthError::invalid("invalid_role", "role", "The role is read, write or admin.")
    })?;
    Ok(role.into())
}

fn role_access(r: Role) -> Access {
    match r {
        Role::Read => Access::Read,
        Role::Write => Access::Write,
        Role::Admin => Access::Admin,
    }
}

impl AuthService {
    async fn workspace_named(&self, c: &mut Conn, name: &str) -> Result<Workspace> {
        ws::by_name(c, &name.trim().to_ascii_lowercase())
            .await?
            .ok_or(AuthError::NotFound)
    }

    /// The member's role; `NotFound` for anyone else (the two are not told apart).
    async fn member_role(&self, c: &mut Conn, w: &Workspace, user_id: &UserId) -> Result<Role> {
        ws::role_of(c, &w.id, user_id)
            .await?
            .ok_or(AuthError::NotFound)
    }

    async fn workspace_admin(&self, c: &mut Conn, w: &Workspace, user_id: &UserId) -> Result<()> {
        match self.member_role(c, w, user_id).await? {
            Role::Admin => Ok(()),
            _ => Err(AuthError::Forbidden(format!(
                "Only the admins of the workspace {} can do this.",
                w.name
            ))),
        }
    }

    async fn mail_policy(&self, user: &User, workspace: &str, from: UnixTime) {
        let what = format!(
            "The workspace {workspace} requires two-step verification from {} UTC, and yours is off.\n\n\
             Turn it on before then: {}\n\n\
             Until then nothing changes. After it, you cannot reach {workspace}'s repositories \
             (SSH, HTTPS, pages and API, app passwords included) until you turn it on; \
             nothing is removed.",
            utc(from),
            self.link("/account/two-step")
        );
        self.notify(
            user,
            "A workspace requires two-step verification",
            &what,
            &crate::Ctx::new(crate::Channel::Web, "server"),
        )
        .await;
    }

    /// A workspace's repository as `viewer` sees it: `Ok(None)` when `owner`
    /// is no workspace; `NotFound` when the viewer may not read it; the
    /// policy's refusal when their two-step is off past the grace period.
    pub(crate) async fn workspace_repo(
        &self,
        c: &mut Conn,
        viewer: &UserId,
        owner: &str,
        name: &str,
    ) -> Result<Option<RepoView>> {
        let Some(w) = ws::by_name(c, owner).await? else {
            return Ok(None);
        };
        let r = ws::repo(c, &w.id, name).await?.ok_or(AuthError::NotFound)?;
        let role = ws::role_of(c, &w.id, viewer).await?.map(role_access);
        let access = policy::access(role, r.is_private != 0);
        if access == Access::None {
            return Err(AuthError::NotFound);
        }
        self.workspace_allows(viewer, &w.name).await?;
        Ok(Some(repo_view(&w, r, access)))
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
            })
            .collect())
    }

    /// Workspaces whose policy will lock this account out, with when: for the
    /// banner and mail while two-step is off.
    pub async fn two_step_deadlines(
        &self,
        user: &crate::Account,
    ) -> Result<Vec<(String, UnixTime)>> {
        if user.two_step_on() {
            return Ok(Vec::new());
        }
        Ok(self
            .workspaces_of(&user.id)
            .await?
            .into_iter()
            .filter_map(|m| match m.policy {
                Policy::Off => None,
                Policy::Grace { until } => Some((m.name, until)),
                Policy::Enforced { since } => Some((m.name, since)),
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
        Ok(WorkspaceView {
            name: w.name,
            role: role.into(),
            policy: policy::policy(w.two_step_enforced_at, now),
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
        if let (Some(_), Policy::Grace { until } | Policy::Enforced { since: until }) =
            (role, policy::policy(w.two_step_enforced_at, now))
        {
            if target.two_step_enabled_at.is_none() {
                self.mail_policy(&target, &w.name, until).await;
            }
        }
        Ok(())
    }

    /// Turns "require two-step verification" on (with a grace period, default
    /// 7 days) or off. A security setting: it needs the admin's fresh factor.
    pub async fn set_workspace_two_step_policy(
        &self,
        session: &SessionInfo,
        workspace: &str,
        require: bool,
        grace_seconds: Option<i64>,
        proof: &Proof,
        ctx: &Ctx,
    ) -> Result<Policy> {
        let grace = grace_seconds.unwrap_or(DEFAULT_GRACE);
        if !(0..=MAX_GRACE).contains(&grace) {
            return Err(AuthError::invalid(
                "invalid_grace_period",
                "grace_seconds",
                "The grace period is between 0 and 90 days.",
            ));
        }
        {
            let mut c = self.store().conn().await?;
            let w = self.workspace_named(&mut c, workspace).await?;
            self.workspace_admin(&mut c, &w, &session.user.id).await?;
        }
        let (mut tx, me) = self
            .begin_action(
                Action::SetWorkspacePolicy,
                session,
                proof,
                Some(workspace),
                ctx,
            )
            .await?;
        let now = self.now();
        let w = self.workspace_named(&mut tx, workspace).await?;
        self.workspace_admin(&mut tx, &w, &me.id).await?;
        let (required, enforced) = if require {
            (Some(now), Some(now + grace))
        } else {
            (None, None)
        };
        ws::set_policy(&mut tx, &w.id, required, enforced).await?;
        let detail = match enforced {
            Some(t) => format!("{}: required from {} UTC", w.name, utc(t)),
            None => format!("{}: no longer required", w.name),
        };
        self.audit(
            &mut tx,
            &me.id,
            now,
            Event::WorkspacePolicyChanged,
            &detail,
            ctx,
        )
        .await?;
        let without: Vec<User> = {
            let mut out = Vec::new();
            for m in ws::members(&mut tx, &w.id).await? {
                if m.two_step_enabled_at.is_none() {
                    if let Some(u) = users::by_id(&mut tx, &m.user_id).await? {
                        out.push(u);
                    }
                }
            }
            out
        };
        commit(tx).await?;
        if let Some(t) = enforced {
            for u in &without {
                self.mail_policy(u, &w.name, t).await;
            }
        }
        Ok(policy::policy(enforced, now))
    }

    /// A repository in a workspace; members with write or admin create them.
    pub async fn create_workspace_repo(
        &self,
        session: &SessionInfo,
        workspace: &str,
        name: &str,
        description: &str,
        private: bool,
        ctx: &Ctx,
    ) -> Result<RepoView> {
        self.allowed(
            Action::CreateWorkspaceRepository,
            session,
            &Proof::None,
            Some(workspace),
        )
        .await?;
        let (name, description) = crate::repos::repositories::repo_fields(name, description)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let w = self.workspace_named(&mut tx, workspace).await?;
        let role = self.member_role(&mut tx, &w, &session.user.id).await?;
        if role == Role::Read {
            return Err(AuthError::Forbidden(format!(
                "You can read {}'s repositories but not create them. Ask one of its admins.",
                w.name
            )));
        }
        let row = WorkspaceRepo {
            id: token::new_id(&mut rng()),
            workspace_id: w.id.clone(),
            name: name.clone(),
            description: description.to_string(),
            is_private: i64::from(private),
            created_by: session.user.id.clone(),
            created_at: now,
        };
        match ws::insert_repo(&mut tx, &row).await {
            Err(StoreError::Conflict) => {
                return Err(AuthError::invalid(
                    "repository_exists",
                    "name",
                    format!("{} already has a repository called \"{name}\".", w.name),
                ))
            }
            other => other?,
        }
        let path = self.repos().repo_path(&w.name, &name);
        self.audit(
            &mut tx,
            &session.user.id,
            now,
            Event::RepositoryCreated,
            &format!("{}/{name}", w.name),
            ctx,
        )
        .await?;
        crate::repos::repositories::create_on_disk_and_commit(tx, &path).await?;
        Ok(repo_view(&w, row, role_access(role)))
    }
}

fn repo_view(w: &Workspace, r: WorkspaceRepo, access: Access) -> RepoView {
    RepoView {
        id: r.id,
        owner: w.name.clone(),
        name: r.name,
        description: r.description,
        private: r.is_private != 0,
        created_at: r.created_at,
        access: policy::access(Some(access), r.is_private != 0),
        workspace: true,
    }
}
