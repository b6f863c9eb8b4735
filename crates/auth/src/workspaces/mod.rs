//! Workspaces: members, roles and the two-step policy.

pub(crate) mod members;
