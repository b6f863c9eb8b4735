//! Repositories: who may read and write, Git over SSH and HTTPS, housekeeping after pushes.

pub(crate) mod check;
pub(crate) mod git_access;
pub(crate) mod git_operations;
pub(crate) mod housekeeping;
pub(crate) mod repositories;

crate::domain_service!(
    /// Repositories: records, folders, who may read and write, Git in flight.
    Repos,
    repos
);
