//! twostep as an OAuth 2.0 provider: applications, consent, the device flow, tokens.

pub(crate) mod device;
pub(crate) mod provider;

crate::domain_service!(
    /// twostep as an OAuth 2.0 provider: applications, consent, the device flow, tokens.
    OAuth,
    oauth
);
