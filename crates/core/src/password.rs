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

const M_COST: u32 = 19_456;
const T_COST: u32 = 2;

fn hasher() -> Argon2<'static> {
    let params = Params::new(M_COST, T_COST, 1, None).expect("fixed Argon2 parameters are valid");
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

/// Argon2 working memory for one hash with our parameters (19 MiB). Reused
/// by a long-lived worker so hashing never allocates, and RSS stays bounded.
pub struct Memory(Vec<argon2::Block>);

impl Memory {
    pub fn new() -> Memory {
        Memory(vec![argon2::Block::new(); M_COST as usize])
    }
}

impl Default for Memory {
    fn default() -> Self {
        Memory::new()
    }
}

const OUTPUT_LEN: usize = 32;

/// As `hash`, in `mem`.
pub fn hash_in(password: &str, rng: &mut dyn rand::RngCore, mem: &mut Memory) -> String {
    let mut salt = [0u8; 16];
    rng.fill_bytes(&mut salt);
    let mut out = [0u8; OUTPUT_LEN];
    hasher()
        .hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, &mut mem.0)
        .expect("hashing with valid parameters cannot fail");
    let b64 =
        |b: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::STANDARD_NO_PAD, b);
    format!(
        "$argon2id$v=19$m={M_COST},t={T_COST},p=1${}${}",
        b64(&salt),
        b64(&out)
    )
}

/// As `verify`, in `mem`. Hashes with other parameters (none are written
/// today) are checked the ordinary way.
pub fn verify_in(password: &str, phc: &str, mem: &mut Memory) -> bool {
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let ours = parsed.algorithm.as_str() == "argon2id"
        && parsed.version == Some(0x13)
        && Params::try_from(&parsed)
            .is_ok_and(|p| p.m_cost() == M_COST && p.t_cost() == T_COST && p.p_cost() == 1);
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    if !ours || expected.len() > 64 {
        return verify(password, phc);
    }
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let mut out = [0u8; 64];
    let out = &mut out[..expected.len()];
    if hasher()
        .hash_password_into_with_memory(password.as_bytes(), salt, out, &mut mem.0)
        .is_err()
    {
        return false;
    }
    bool::from(subtle::ConstantTimeEq::ct_eq(&*out, expected.as_bytes()))
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
    fn reused_memory_agrees_with_the_phc_path() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(12);
        let mut mem = Memory::new();
        let h = hash_in("correct horse battery", &mut rng, &mut mem);
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            verify("correct horse battery", &h),
            "readable by the PHC verifier"
        );
        assert!(verify_in("correct horse battery", &h, &mut mem));
        assert!(!verify_in("correct horse batterY", &h, &mut mem));
        let classic = hash("another fine password", &mut rng);
        assert!(verify_in("another fine password", &classic, &mut mem));
        assert!(!verify_in("x", dummy_hash(), &mut mem));
        assert!(!verify_in("x", "not a phc string", &mut mem));
        let other_params = "$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHQ$AAAAAAAAAAAAAAAAAAAAAA";
        assert!(!verify_in("x", other_params, &mut mem));
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
