//! Administrators: rights, resets with a second administrator, the audit log.

pub(crate) mod reset;
pub(crate) mod users;

crate::domain_service!(
    /// Administrators: rights, resets with a second administrator, the audit log.
    Admin,
    admin
);
