//! Signing in: passwords, sessions, the second step, SSH keys, and the sudo window.

pub(crate) mod password;
pub(crate) mod session;
pub(crate) mod ssh_key;
pub(crate) mod sudo;
