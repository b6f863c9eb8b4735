//! Accounts: signing up, the address confirmed, changes of password and address, the security log.

pub(crate) mod changes;
pub(crate) mod security_log;
pub(crate) mod sessions;
pub(crate) mod signup;
pub(crate) mod view;

crate::domain_service!(
    /// Accounts: signing up, confirming the address, changing password and address, the security log.
    Accounts,
    accounts
);
