//! Ways back in: self-service recovery, a reset password's review, a new password over SSH.

pub(crate) mod finish;
pub(crate) mod password_over_ssh;
pub(crate) mod reset_review;
pub(crate) mod self_service;

crate::domain_service!(
    /// Ways back in: self-service recovery, the review after a password reset, a new password over SSH.
    Recovery,
    recovery
);
