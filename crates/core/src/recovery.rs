//! One-time recovery codes: generated here, shown once, stored hashed.
//!
//! A code is 16 characters (`abcd-efgh-jkmn-pqrs`): the first two pick the
//! stored row (distinct within one account's set, not secret), the other 14
//! are about 69 bits of secret. The row holds an Argon2id hash of the whole
//! code, so a check costs one hash. Codes made before this format are 12
//! characters, stored as a keyed hash (HMAC with the server's pepper), and
//! keep working until the set is replaced.

use rand::Rng;

use crate::token::keyed_hash;

pub const RECOVERY_CODE_COUNT: usize = 6;
/// 16 characters from a 31-letter alphabet.
pub const RECOVERY_CODE_LEN: usize = 16;
/// Characters that pick the row.
pub const LOOKUP_LEN: usize = 2;
/// The earlier format (about 59 bits, keyed hash).
pub const LEGACY_CODE_LEN: usize = 12;
/// No 0/o, 1/l/i: codes get written down and typed back.
const ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";

/// Bits of secret in a code (the lookup characters are not secret).
pub fn secret_bits() -> f64 {
    ((RECOVERY_CODE_LEN - LOOKUP_LEN) as f64) * (ALPHABET.len() as f64).log2()
}

/// A code as shown to the person: `abcd-efgh-jkmn-pqrs`.
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryCode(String);

impl RecoveryCode {
    pub fn display(&self) -> &str {
        &self.0
    }

    /// What gets hashed: the code without its dashes.
    pub fn normalised(&self) -> String {
        self.0.replace('-', "")
    }

    /// What picks the stored row.
    pub fn lookup(&self) -> &str {
        &self.0[..LOOKUP_LEN]
    }
}

impl std::fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryCode(..)")
    }
}

/// A typed code, already normalised by `code::parse_second_factor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Typed<'a> {
    /// This format: look the row up by `lookup`, verify `code` against its hash.
    Salted { lookup: &'a str, code: &'a str },
    /// The earlier format: its keyed hash is what is stored.
    Legacy(&'a str),
}

pub fn typed(normalised: &str) -> Option<Typed<'_>> {
    if !normalised.is_ascii() {
        return None;
    }
    match normalised.len() {
        RECOVERY_CODE_LEN => Some(Typed::Salted {
            lookup: &normalised[..LOOKUP_LEN],
            code: normalised,
        }),
        LEGACY_CODE_LEN => Some(Typed::Legacy(normalised)),
        _ => None,
    }
}

/// Keyed hash of a code of the earlier format (normalised).
pub fn hash_normalised(pepper: &[u8; 32], normalised: &str) -> String {
    keyed_hash(pepper, normalised.as_bytes())
}

/// Whether a stored hash is of the earlier, keyed kind (not a PHC string).
pub fn is_legacy_hash(stored: &str) -> bool {
    !stored.starts_with('$')
}

pub fn generate(rng: &mut dyn rand::RngCore) -> Vec<RecoveryCode> {
    let mut codes: Vec<RecoveryCode> = Vec::with_capacity(RECOVERY_CODE_COUNT);
    while codes.len() < RECOVERY_CODE_COUNT {
        let raw: String = (0..RECOVERY_CODE_LEN)
            .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
            .collect();
        // Lookups are distinct within a set, so one row answers a code.
        if codes.iter().any(|c| c.lookup() == &raw[..LOOKUP_LEN]) {
            continue;
        }
        codes.push(RecoveryCode(format!(
            "{}-{}-{}-{}",
            &raw[0..4],
            &raw[4..8],
            &raw[8..12],
            &raw[12..16]
        )));
    }
    codes
}

/// The downloadable text file.
pub fn text_file<S: AsRef<str>>(issuer: &str, username: &str, site: &str, codes: &[S]) -> String {
    let mut out = format!(
        "{issuer} recovery codes for {username} at {site}\n\
         Each code works once, in place of a code from your authenticator app.\n\
         Keep them somewhere safe, away from your phone.\n\n"
    );
    for c in codes {
        out.push_str(c.as_ref());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code::{parse_second_factor, SecondFactorInput};
    use rand::SeedableRng;

    #[test]
    fn codes_carry_at_least_64_bits_and_distinct_lookups() {
        assert!(secret_bits() >= 64.0, "{}", secret_bits());
        for seed in 0..200 {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let codes = generate(&mut rng);
            assert_eq!(codes.len(), RECOVERY_CODE_COUNT);
            let mut lookups: Vec<_> = codes.iter().map(|c| c.lookup()).collect();
            lookups.sort_unstable();
            lookups.dedup();
            assert_eq!(lookups.len(), RECOVERY_CODE_COUNT);
        }
    }

    #[test]
    fn codes_round_trip_through_input_parsing() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for c in generate(&mut rng) {
            assert_eq!(c.display().len(), 19);
            let typed_in = c.display().to_uppercase().replace('-', " ");
            match parse_second_factor(&typed_in).unwrap() {
                SecondFactorInput::Recovery(n) => {
                    assert_eq!(n, c.normalised());
                    assert_eq!(
                        typed(&n),
                        Some(Typed::Salted {
                            lookup: c.lookup(),
                            code: &c.normalised()
                        })
                    );
                }
                other => panic!("parsed as {other:?}"),
            }
        }
    }

    #[test]
    fn codes_of_the_earlier_format_are_still_read() {
        match parse_second_factor("abcd-efgh-2345").unwrap() {
            SecondFactorInput::Recovery(n) => {
                assert_eq!(typed(&n), Some(Typed::Legacy("abcdefgh2345")));
                assert_ne!(hash_normalised(&[1; 32], &n), hash_normalised(&[2; 32], &n));
                assert!(is_legacy_hash(&hash_normalised(&[1; 32], &n)));
            }
            other => panic!("parsed as {other:?}"),
        }
        assert!(!is_legacy_hash("$argon2id$v=19$m=19456,t=2,p=1$x$y"));
    }
}
