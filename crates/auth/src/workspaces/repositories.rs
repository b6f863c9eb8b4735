//! A workspace's repositories. Access to them is decided here, once, for
//! SSH, HTTPS, pages and API alike (`workspace_repo`).

use twostep_core::repo::Access;
use twostep_core::workspace::{self as policy};
use twostep_core::{token, UserId};
use twostep_store::workspaces::{self as ws, Role, Workspace, WorkspaceRepo};
use twostep_store::{Conn, StoreError};

use super::Workspaces;
use crate::gate::Action;
use crate::notify::Event;
use crate::repos::repositories::RepoView;
use crate::{rng, AuthError, AuthService, Ctx, Proof, Result, SessionInfo};

impl AuthService {
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
        let access = policy::access(role, r.is_private);
        if access == Access::None {
            return Err(AuthError::NotFound);
        }
        self.workspace_allows(viewer, &w.name).await?;
        Ok(Some(repo_view(&w, r, access)))
    }
}

impl Workspaces<'_> {
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
            is_private: private,
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

pub(crate) fn repo_view(w: &Workspace, r: WorkspaceRepo, access: Access) -> RepoView {
    RepoView {
        id: r.id,
        owner: w.name.clone(),
        name: r.name,
        description: r.description,
        private: r.is_private,
        created_at: r.created_at,
        access: policy::access(Some(access), r.is_private),
        workspace: true,
    }
}

/// What a member of this role may do with a workspace's repositories.
pub(crate) fn role_access(r: Role) -> Access {
    match r {
        Role::Read => Access::Read,
        Role::Write => Access::Write,
        Role::Admin => Access::Admin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_gives_its_access_and_no_more() {
        assert_eq!(role_access(Role::Read), Access::Read);
        assert_eq!(role_access(Role::Write), Access::Write);
        assert_eq!(role_access(Role::Admin), Access::Admin);
    }
}
