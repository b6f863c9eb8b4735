//! Links mailed to the owner: made, redeemed once, for one purpose, before they expire.

pub(crate) mod ssh_approval;
