//! Ways back in: self-service recovery, a reset password's review, a new password over SSH.

pub(crate) mod finish;
pub(crate) mod password_over_ssh;
pub(crate) mod reset_review;
pub(crate) mod self_service;
