//! Workspaces: members and roles (`members.rs`), the two-step policy
//! (`policy.rs`) and their repositories (`repositories.rs`).

pub(crate) mod members;
pub(crate) mod policy;
pub(crate) mod repositories;

crate::domain_service!(
    /// Workspaces: members, roles, repositories and the two-step policy.
    Workspaces,
    workspaces
);
