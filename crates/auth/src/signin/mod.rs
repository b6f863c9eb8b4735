//! Signing in: passwords, sessions, the second step, SSH keys, and the sudo window.

pub(crate) mod browser;
pub(crate) mod password;
pub(crate) mod session;
pub(crate) mod ssh_key;
pub(crate) mod sudo;

crate::domain_service!(
    /// Signing in: the password, the second step, sessions, SSH keys as a way in, and the sudo window.
    SignIn,
    signin
);
