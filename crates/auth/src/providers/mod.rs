//! Signing in with OpenID Connect providers.

pub(crate) mod oidc;
