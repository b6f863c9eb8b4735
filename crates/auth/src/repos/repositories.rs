//! Repositories: records in the store, bare repositories on disk.

use std::path::PathBuf;
use twostep_core::UnixTime;
use twostep_core::UserId;

use twostep_core::repo::{self, Access};
use twostep_core::token;
use twostep_store::repositories::{self as store_repos, Repository};
use twostep_store::{users, StoreError};

use super::Repos;
use crate::notify::Event;
use crate::Failure;
use crate::{commit, rng, AuthError, Ctx, Result};

#[derive(Debug, Clone)]
pub struct RepoView {
    pub id: String,
    pub owner: String,
    pub name: String,
    pub description: String,
    pub private: bool,
    pub created_at: UnixTime,
    /// What the viewer may do.
    pub access: Access,
    /// Owned by a workspace: access comes from its members, not collaborators.
    pub workspace: bool,
}

/// The access a form or request names for a collaborator: `read` or `write`.
pub fn collaborator_access(text: &str) -> Result<Access> {
    Access::parse(text.trim()).ok_or_else(|| {
        AuthError::invalid(
            "invalid_access",
            "access",
            "Access is \"read\" or \"write\".",
        )
    })
}

impl Repos<'_> {
    /// `REPOS/OWNER/NAME.git` for names already validated.
    pub fn repo_path(&self, owner: &str, name: &str) -> PathBuf {
        self.settings()
            .repos_dir
            .join(owner)
            .join(format!("{name}.git"))
    }

    pub async fn create_repo(
        &self,
        user_id: &UserId,
        name: &str,
        description: &str,
        private: bool,
        ctx: &Ctx,
    ) -> Result<RepoView> {
        let (name, description) = repo_fields(name, description)?;
        let user = self.user_row(user_id).await?;
        let now = self.now();
        let row = Repository {
            id: token::new_id(&mut rng()),
            owner_id: user.id.clone(),
            name: name.clone(),
            description: description.to_string(),
            is_private: private,
            created_at: now,
        };
        let path = self.repo_path(&user.username, &name);
        let mut tx = self.store().begin().await?;
        match store_repos::insert(&mut tx, &row).await {
            Err(StoreError::Conflict) => {
                return Err(AuthError::invalid(
                    "repository_exists",
                    "name",
                    format!("You already have a repository called \"{name}\"."),
                ))
            }
            other => other?,
        }
        self.audit(
            &mut tx,
            &user.id,
            now,
            Event::RepositoryCreated,
            &format!("{}/{name}", user.username),
            ctx,
        )
        .await?;
        create_on_disk_and_commit(tx, &path).await?;
        Ok(RepoView {
            id: row.id,
            owner: user.username,
            name,
            description: row.description,
            private,
            created_at: now,
            access: Access::Admin,
            workspace: false,
        })
    }

    pub async fn list_repos(&self, user_id: &UserId) -> Result<Vec<RepoView>> {
        let mut c = self.store().conn().await?;
        Ok(store_repos::visible_to(&mut c, user_id)
            .await?
            .into_iter()
            .map(|r| RepoView {
                id: r.id,
                owner: r.owner,
                name: r.name,
                description: r.description,
                private: r.is_private,
                created_at: r.created_at,
                access: match r.access.as_str() {
                    "owner" => Access::Admin,
                    other => Access::parse(other).unwrap_or(Access::None),
                },
                workspace: false,
            })
            .collect())
    }

    /// A repository as `viewer` sees it; `NotFound` when it does not exist or
    /// the viewer may not read it (the two are not told apart).
    pub async fn repo(&self, viewer_id: &UserId, owner: &str, name: &str) -> Result<RepoView> {
        let name = repo::name(name).map_err(|_| AuthError::NotFound)?;
        let mut c = self.store().conn().await?;
        let Some(r) = store_repos::by_owner_and_name(&mut c, owner, &name).await? else {
            return self
                .workspace_repo(&mut c, viewer_id, owner, &name)
                .await?
                .ok_or(AuthError::NotFound);
        };
        let collab = store_repos::collaborator_access(&mut c, &r.id, viewer_id)
            .await?
            .and_then(|a| Access::parse(&a));
        let access = repo::access(&r.owner_id, r.is_private, viewer_id, collab);
        if access == Access::None {
            return Err(AuthError::NotFound);
        }
        Ok(RepoView {
            id: r.id,
            owner: owner.to_string(),
            name: r.name,
            description: r.description,
            private: r.is_private,
            created_at: r.created_at,
            access,
            workspace: false,
        })
    }

    /// Checks that `user_id` may `need` the repository; returns its path on disk.
    pub async fn authorize_repo(
        &self,
        user_id: &UserId,
        owner: &str,
        name: &str,
        need: Access,
    ) -> Result<(RepoView, PathBuf)> {
        let view = self.repo(user_id, owner, name).await?;
        if view.access < need {
            return Err(AuthError::Forbidden(format!(
                "You can read {}/{} but not write to it. Ask its owner for write access.",
                view.owner, view.name
            )));
        }
        let path = self.repo_path(&view.owner, &view.name);
        Ok((view, path))
    }

    /// Deletes a repository; the owner must type its name to confirm.
    pub async fn delete_repo(
        &self,
        user_id: &UserId,
        owner: &str,
        name: &str,
        confirm: &str,
        ctx: &Ctx,
    ) -> Result<()> {
        let (view, path) = self
            .authorize_repo(user_id, owner, name, Access::Admin)
            .await
            .map_err(|e| match e {
                AuthError::Forbidden(_) => {
                    AuthError::Forbidden("Only the owner can delete a repository.".into())
                }
                other => other,
            })?;
        not_in_a_workspace(&view)?;
        if confirm.trim() != view.name {
            return Err(AuthError::invalid(
                "confirmation_mismatch",
                "confirm",
                format!("Type {} to confirm.", view.name),
            ));
        }
        let now = self.now();
        let mut tx = self.store().begin().await?;
        store_repos::delete(&mut tx, &view.id).await?;
        self.audit(
            &mut tx,
            user_id,
            now,
            Event::RepositoryDeleted,
            &format!("{}/{}", view.owner, view.name),
            ctx,
        )
        .await?;
        // Marked first: a crash after the commit leaves a marked folder with
        // no record, which the start-up check removes (see repo_check.rs).
        let marker = path.join(crate::repos::check::DELETING_MARKER);
        tokio::fs::write(&marker, b"")
            .await
            .map_err(Failure::disk("marking", &path))?;
        if let Err(e) = commit(tx).await {
            let _ = tokio::fs::remove_file(&marker).await;
            return Err(e);
        }
        // Out of the way at once (a rename is atomic), then removed: a crash
        // mid-removal leaves a `.…deleted-…` folder, never a torn repository.
        let trash = crate::repos::check::deleted_name(&path);
        let gone = match tokio::fs::rename(&path, &trash).await {
            Ok(()) => tokio::fs::remove_dir_all(&trash).await,
            Err(e) => Err(e),
        };
        if let Err(e) = gone {
            tracing::error!(path = %path.display(), error = %e, "could not remove a deleted repository's files");
        }
        Ok(())
    }

    pub async fn collaborators(
        &self,
        user_id: &UserId,
        owner: &str,
        name: &str,
    ) -> Result<Vec<(String, Access)>> {
        let (view, _) = self
            .authorize_repo(user_id, owner, name, Access::Admin)
            .await?;
        not_in_a_workspace(&view)?;
        let mut c = self.store().conn().await?;
        Ok(store_repos::collaborators(&mut c, &view.id)
            .await?
            .into_iter()
            .map(|(u, a)| (u, Access::parse(&a).unwrap_or(Access::None)))
            .collect())
    }

    /// Grants `Read` or `Write`, or with `None` removes the collaborator.
    pub async fn set_collaborator(
        &self,
        user_id: &UserId,
        owner: &str,
        name: &str,
        who: &str,
        access: Option<Access>,
        ctx: &Ctx,
    ) -> Result<()> {
        let (view, _) = self
            .authorize_repo(user_id, owner, name, Access::Admin)
            .await
            .map_err(|e| match e {
                AuthError::Forbidden(_) => {
                    AuthError::Forbidden("Only the owner can change collaborators.".into())
                }
                other => other,
            })?;
        not_in_a_workspace(&view)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let target = users::by_username(&mut tx, &who.trim().to_ascii_lowercase())
            .await?
            .ok_or_else(|| {
                AuthError::invalid(
                    "unknown_user",
                    "username",
                    format!("There is no user called \"{}\".", who.trim()),
                )
            })?;
        if target.id == *user_id {
            return Err(AuthError::invalid(
                "owner_collaborator",
                "username",
                "You own this repository already.",
            ));
        }
        let detail = match access {
            Some(level) => {
                let level = if level == Access::Write {
                    store_repos::WRITE
                } else {
                    store_repos::READ
                };
                store_repos::set_collaborator(&mut tx, &view.id, &target.id, level, now).await?;
                format!(
                    "{}/{}: {} can {level}",
                    view.owner, view.name, target.username
                )
            }
            None => {
                store_repos::remove_collaborator(&mut tx, &view.id, &target.id).await?;
                format!("{}/{}: {} removed", view.owner, view.name, target.username)
            }
        };
        self.audit(
            &mut tx,
            user_id,
            now,
            Event::CollaboratorChanged,
            &detail,
            ctx,
        )
        .await?;
        commit(tx).await
    }
}

/// A new repository's name and description, checked.
pub(crate) fn repo_fields<'a>(name: &str, description: &'a str) -> Result<(String, &'a str)> {
    let name = repo::name(name)
        .map_err(|e| AuthError::invalid("invalid_repository_name", "name", e.to_string()))?;
    let description = description.trim();
    if description.chars().count() > repo::MAX_DESCRIPTION {
        return Err(AuthError::invalid(
            "invalid_description",
            "description",
            "Keep the description under 500 characters.",
        ));
    }
    Ok((name, description))
}

fn not_in_a_workspace(view: &RepoView) -> Result<()> {
    if view.workspace {
        return Err(AuthError::Conflict(format!(
            "{}/{} belongs to a workspace: its members decide who may use it, on the workspace's page.",
            view.owner, view.name
        )));
    }
    Ok(())
}

/// Creates the bare repository, then commits the record with it; a failed
/// commit removes the folder again, so neither is left without the other.
/// Made whole under a temporary name, renamed into place, then the record
/// committed: a crash leaves at most an empty repository without a record,
/// which the next creation of that name (or the start-up check) removes.
pub(crate) async fn create_on_disk_and_commit(
    tx: twostep_store::Tx,
    path: &std::path::Path,
) -> Result<()> {
    if path.exists() {
        // The uncommitted record holds the name: nobody else is creating it.
        if !crate::repos::check::is_empty_repository(path).await {
            return Err(Failure::Orphan(path.to_path_buf()).into());
        }
        tracing::warn!(path = %path.display(), "removing an empty repository left without a record");
        tokio::fs::remove_dir_all(path)
            .await
            .map_err(Failure::disk("removing", path))?;
    }
    let tmp = crate::repos::check::creating_name(path);
    init_bare(&tmp).await?;
    if let Err(e) = tokio::fs::rename(&tmp, path).await {
        let _ = tokio::fs::remove_dir_all(&tmp).await;
        return Err(Failure::disk("moving", &tmp)(e).into());
    }
    if let Err(e) = commit(tx).await {
        let _ = tokio::fs::remove_dir_all(path).await;
        return Err(e);
    }
    Ok(())
}

async fn init_bare(path: &std::path::Path) -> Result<()> {
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(Failure::disk("creating", parent))?;
    }
    let mut git = tokio::process::Command::new("git");
    git.args(["init", "--quiet", "--bare", "--initial-branch=main"])
        .arg(path);
    die_with_this_process(&mut git);
    let out = git
        .output()
        .await
        .map_err(Failure::disk("running git init for", path))?;
    if !out.status.success() {
        return Err(Failure::GitInit(String::from_utf8_lossy(&out.stderr).into_owned()).into());
    }
    Ok(())
}

/// The child is killed when this server dies. A server killed (SIGKILL, a
/// crash) while `git init` runs would otherwise leave it writing into its
/// temporary folder after the restarted server's start-up check removed
/// that folder, and the folder would come back with no record. (The signal
/// follows the thread that spawned the child: a runtime worker, which
/// lives as long as the server.)
fn die_with_this_process(cmd: &mut tokio::process::Command) {
    #[cfg(target_os = "linux")]
    {
        let parent = std::process::id();
        // SAFETY: between fork and exec the closure calls only prctl and
        // getppid, both async-signal-safe, and allocates nothing.
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                // The server died before prctl took effect: do not start.
                if libc::getppid() as u32 != parent {
                    return Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
                }
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cmd;
}
