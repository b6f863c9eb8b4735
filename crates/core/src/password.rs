//! Account passwords: Argon2id (m=19456 KiB, t=2, p=1) and the password policy.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

pub const MIN_PASSWORD_CHARS: usize = 10;
/// Bounded so hashing cost stays bounded too.
pub const MAX_PASSWORD_BYTES: usize = 512;

/// A few passwords that pass the length rule and are still guessed first.
const COMMON: &[&str] = &[
    "1234567890",
    "12345678910",
    "123456789012",
    "0123456789",
    "qwertyuiop",
    "password12",
    "password123",
    "password1234",
    "passw0rd123",
    "iloveyou12",
    "letmein123",
    "welcome123",
    "qwerty1234",
    "qwerty12345",
    "1q2w3e4r5t",
    "abcdefghij",
    "administrator",
    "changeme123",
    "trustno1234",
    "football123",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordPolicyError {
    #[error("Use at least {MIN_PASSWORD_CHARS} characters for your password.")]
    TooShort,
    #[error("That password is too long (at most {MAX_PASSWORD_BYTES} bytes).")]
    TooLong,
    #[error("Your password must not contain your username or email address.")]
    ContainsIdentity,
    #[error("That password is among the first ones attackers try. Choose another.")]
    TooCommon,
}

/// Checks a new password against the policy.
pub fn check_policy(
    password: &str,
    username: &str,
    email: &str,
) -> Result<(), PasswordPolicyError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordPolicyError::TooLong);
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(PasswordPolicyError::TooShort);
    }
    let lower = password.to_lowercase();
    let local = email.split('@').next().unwrap_or("");
    if (username.len() >= 3 && lower.contains(&username.to_lowercase()))
        || (local.len() >= 3 && lower.contains(&local.to_lowercase()))
    {
        return Err(PasswordPolicyError::ContainsIdentity);
    }
    let distinct = {
        let mut c: Vec<char> = lower.chars().collect();
        c.sort_unstable();
        c.dedup();
        c.len()
    };
    if distinct < 4 || COMMON.contains(&lower.as_str()) {
        return Err(PasswordPolicyError::TooCommon);
    }
    Ok(())
}

fn hasher() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).expect("fixed Argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`). Slow on purpose: call off the async runtime.
pub fn hash(password: &str, rng: &mut dyn rand::RngCore) -> String {
    let mut salt = [0u8; 16];
    rng.fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).expect("16 bytes is a valid salt");
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .expect("hashing with valid parameters cannot fail")
        .to_string()
}

/// Constant-time check against a stored PHC string; a damaged hash never matches.
pub fn verify(password: &str, phc: &str) -> bool {
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    match PasswordHash::new(phc) {
        Ok(parsed) => hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash to verify against when the account does not exist, so timing does
/// not tell which usernames are taken.
pub fn dummy_hash() -> &'static str {
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$1C4cXaqAH7IVVGv0C6ub4VQqQ5iMqoq1nsVEs4Cxn+8"
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn hash_and_verify() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let h = hash("correct horse battery", &mut rng);
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(!h.contains("correct horse"));
        assert!(verify("correct horse battery", &h));
        assert!(!verify("correct horse batterY", &h));
        assert!(!verify("x", "not a phc string"));
        assert!(!verify("x", dummy_hash()));
    }

    #[test]
    fn policy_messages() {
        assert_eq!(
            check_policy("short", "bob", "b@x.io"),
            Err(PasswordPolicyError::TooShort)
        );
        assert_eq!(
            check_policy("alice-is-great", "alice", "a@x.io"),
            Err(PasswordPolicyError::ContainsIdentity)
        );
        assert_eq!(
            check_policy("Password123", "bob", "b@x.io"),
            Err(PasswordPolicyError::TooCommon)
        );
        assert_eq!(
            check_policy("aaaaaaaaaaaa", "bob", "b@x.io"),
            Err(PasswordPolicyError::TooCommon)
        );
        assert_eq!(
            check_policy(&"x1".repeat(300), "bob", "b@x.io"),
            Err(PasswordPolicyError::TooLong)
        );
        assert_eq!(
            check_policy("tulip-orbit-42-lantern", "bob", "b@x.io"),
            Ok(())
        );
    }
}
