//! Second factors: authenticators, recovery codes, security keys, passkeys, hardware tokens, and the one check of a factor.

pub(crate) mod check;
pub(crate) mod codes_saved;
pub(crate) mod devices;
pub(crate) mod hardware_tokens;
pub(crate) mod passkeys;
pub(crate) mod recovery_codes;
pub(crate) mod security_keys;
pub(crate) mod totp;
pub(crate) mod two_step;

crate::domain_service!(
    /// Second factors: authenticators, recovery codes, security keys, passkeys and hardware tokens.
    Factors,
    factors
);
