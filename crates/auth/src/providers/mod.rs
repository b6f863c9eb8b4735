//! Signing in with OpenID Connect providers.

pub(crate) mod oidc;

crate::domain_service!(
    /// Signing in with OpenID Connect providers, and linking them to accounts.
    Providers,
    providers
);
