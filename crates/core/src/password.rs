//! Account passwords: Argon2id (m=19456 KiB, t=2, p=1) and the password policy.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

pub const MIN_PASSWORD_CHARS: usize = 10;
/// Bounded so hashing cost stays bounded too.
pub const MAX_PASSWORD_BYTES: usize = 512;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordPolicyError {
    #[error("Use at least {MIN_PASSWORD_CHARS} characters for your password.")]
    TooShort,
    #[error("That password is too long (at most {MAX_PASSWORD_BYTES} bytes).")]
    TooLong,
    #[error("Your password must not contain your username, your email address or the name of this site.")]
    ContainsContext,
    /// The reason is zxcvbn's warning ("This is a very common password"…),
    /// which never quotes the password.
    #[error("That password is among the first ones attackers try ({0}). Choose another, such as a few unrelated words.")]
    TooCommon(String),
    #[error("That password has appeared in a data breach, so attackers try it. Choose another.")]
    Breached,
}

/// Fewer estimated guesses than this is "commonly used or expected"
/// (zxcvbn's scores 0 to 2): found in its frequency lists of passwords,
/// names and words, or keyboard walks, sequences, repeats and dates.
const MIN_GUESSES_LOG10: f64 = 8.0;

/// Checks a new password against the policy: length, the context words
/// (username, the email's local part, the site's name) and the commonly used
/// passwords of zxcvbn's lists. The breached-password file is checked apart
/// (`breached::List`), as it reads a file.
pub fn check_policy(
    password: &str,
    username: &str,
    email: &str,
    site: &str,
) -> Result<(), PasswordPolicyError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordPolicyError::TooLong);
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(PasswordPolicyError::TooShort);
    }
    let lower = password.to_lowercase();
    let local = email.split('@').next().unwrap_or("");
    // The site's name counts whole and by its words ("twostep" of "twostep-dev").
    let site_words = site
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 4);
    let context: Vec<String> = [username, local, site]
        .into_iter()
        .chain(site_words)
        .map(str::to_lowercase)
        .filter(|w| w.chars().count() >= 3)
        .collect();
    if context.iter().any(|w| lower.contains(w.as_str())) {
        return Err(PasswordPolicyError::ContainsContext);
    }
    let words: Vec<&str> = context.iter().map(String::as_str).collect();
    let estimate = zxcvbn::zxcvbn(password, &words);
    if estimate.guesses_log10() < MIN_GUESSES_LOG10 {
        let reason = estimate
            .feedback()
            .and_then(|f| f.warning())
            .map(|w| w.to_string().trim_end_matches('.').to_lowercase())
            .unwrap_or_else(|| "it is easy to guess".to_string());
        return Err(PasswordPolicyError::TooCommon(reason));
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
        let check = |p: &str, user: &str| check_policy(p, user, &format!("{user}@x.io"), "twostep");
        assert_eq!(check("short", "bob"), Err(PasswordPolicyError::TooShort));
        assert_eq!(
            check("alice-is-great", "alice"),
            Err(PasswordPolicyError::ContainsContext)
        );
        assert_eq!(
            check("my-TwoStep-passphrase", "bob"),
            Err(PasswordPolicyError::ContainsContext),
            "the site's name is a context word"
        );
        assert_eq!(
            check_policy("twostep-on-my-laptop", "bob", "b@x.io", "twostep-dev"),
            Err(PasswordPolicyError::ContainsContext),
            "and so are its words"
        );
        assert!(matches!(
            check("aaaaaaaaaaaa", "bob"),
            Err(PasswordPolicyError::TooCommon(_))
        ));
        assert_eq!(
            check(&"x1".repeat(300), "bob"),
            Err(PasswordPolicyError::TooLong)
        );
        assert_eq!(check("tulip-orbit-42-lantern", "bob"), Ok(()));
    }

    #[test]
    fn common_passwords_are_refused() {
        for p in [
            "Password123",
            "qwertyuiop123",
            "1q2w3e4r5t6y",
            "P@ssw0rd2024!",
            "password1234",
            "iloveyou2024",
            "letmein12345",
            "welcome2024!",
            "qwerty123456",
            "abc123abc123",
            "monkey123456",
            "dragon123456",
            "football2024",
            "superman1234",
            "1qaz2wsx3edc",
            "zaq12wsx3edc",
            "passw0rd2024",
            "admin1234567",
        ] {
            match check_policy(p, "bob", "bob@x.io", "twostep") {
                Err(PasswordPolicyError::TooCommon(reason)) => {
                    assert!(!reason.contains(&p.to_lowercase()), "{reason}")
                }
                other => panic!("{p}: {other:?}"),
            }
        }
        for p in [
            "violet-harbour-2931",
            "plum-lantern-7731-quiet",
            "xk3-Pq9-bb2",
        ] {
            assert_eq!(check_policy(p, "bob", "bob@x.io", "twostep"), Ok(()), "{p}");
        }
    }
}
