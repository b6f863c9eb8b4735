//! Links mailed to the owner: made, redeemed once, for one purpose, before they expire.

pub(crate) mod mailed;
pub(crate) mod ssh_approval;

crate::domain_service!(
    /// Links mailed to the owner, and SSH commands approved by one.
    Links,
    links
);
