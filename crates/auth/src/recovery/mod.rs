//! Ways back in: a forgotten password, self-service recovery, a reset
//! password's review, a new password or fresh recovery codes over SSH.

pub(crate) mod codes_over_ssh;
pub(crate) mod finish;
pub(crate) mod password_over_ssh;
pub(crate) mod password_reset;
pub(crate) mod reset_review;
pub(crate) mod self_service;

crate::domain_service!(
    /// Ways back in: self-service recovery, the review after a password reset,
    /// a new password or fresh recovery codes over SSH.
    Recovery,
    recovery
);

/// The second proof an SSH command asks for, besides the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SshProof {
    /// Typed at the terminal: the account password, or a two-step code.
    Typed,
    /// The account has no password (made through a sign-in provider): the
    /// owner approves a mailed link.
    MailedApproval,
}

impl SshProof {
    pub(crate) fn of(user: &twostep_store::users::User) -> SshProof {
        if user.password_hash.is_none() {
            SshProof::MailedApproval
        } else {
            SshProof::Typed
        }
    }
}
