//! Workspaces: members, roles and the two-step policy.

pub(crate) mod members;

crate::domain_service!(
    /// Workspaces: members, roles, repositories and the two-step policy.
    Workspaces,
    workspaces
);
