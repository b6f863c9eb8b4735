//! Credentials an owner makes for tools (app passwords, SSH keys), and ending every credential at once.

pub(crate) mod app_passwords;
pub(crate) mod revoke;
pub(crate) mod ssh_keys;

crate::domain_service!(
    /// Credentials for tools (app passwords, SSH keys), and ending them all at once.
    Credentials,
    credentials
);
