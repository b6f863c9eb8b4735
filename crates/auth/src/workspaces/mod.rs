//! Workspaces: members and roles (`members.rs`), the two-step policy
//! (`policy.rs`), their repositories (`repositories.rs`), and their SSH
//! rules and certificate authorities (`ssh.rs`).

pub(crate) mod members;
pub(crate) mod policy;
pub(crate) mod repositories;
pub(crate) mod ssh;

crate::domain_service!(
    /// Workspaces: members, roles, repositories and the two-step policy.
    Workspaces,
    workspaces
);
