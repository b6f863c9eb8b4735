//! One-time recovery codes: generated here, shown once, stored as keyed hashes.

use rand::Rng;

use crate::token::keyed_hash;

pub const RECOVERY_CODE_COUNT: usize = 6;
/// 12 characters from a 31-letter alphabet: about 59 bits each.
pub const RECOVERY_CODE_LEN: usize = 12;
/// No 0/o, 1/l/i: codes get written down and typed back.
const ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";

/// A code as shown to the person: `abcd-efgh-jkmn`.
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryCode(String);

impl RecoveryCode {
    pub fn display(&self) -> &str {
        &self.0
    }

    /// What gets stored: the keyed hash of the normalised code.
    pub fn hash(&self, pepper: &[u8; 32]) -> String {
        hash_normalised(pepper, &self.0.replace('-', ""))
    }
}

impl std::fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryCode(..)")
    }
}

/// Hash of a code already normalised by `code::parse_second_factor`.
pub fn hash_normalised(pepper: &[u8; 32], normalised: &str) -> String {
    keyed_hash(pepper, normalised.as_bytes())
}

pub fn generate(rng: &mut dyn rand::RngCore) -> Vec<RecoveryCode> {
    (0..RECOVERY_CODE_COUNT)
        .map(|_| {
            let raw: String = (0..RECOVERY_CODE_LEN)
                .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
                .collect();
            RecoveryCode(format!("{}-{}-{}", &raw[0..4], &raw[4..8], &raw[8..12]))
        })
        .collect()
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
    fn codes_are_distinct_and_round_trip_through_input_parsing() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let pepper = [9u8; 32];
        let codes = generate(&mut rng);
        assert_eq!(codes.len(), RECOVERY_CODE_COUNT);
        let mut hashes: Vec<_> = codes.iter().map(|c| c.hash(&pepper)).collect();
        hashes.dedup();
        assert_eq!(hashes.len(), RECOVERY_CODE_COUNT);
        for c in &codes {
            assert_eq!(c.display().len(), 14);
            let typed = c.display().to_uppercase().replace('-', " ");
            match parse_second_factor(&typed).unwrap() {
                SecondFactorInput::Recovery(n) => {
                    assert_eq!(hash_normalised(&pepper, &n), c.hash(&pepper))
                }
                other => panic!("parsed as {other:?}"),
            }
        }
    }

    #[test]
    fn the_hash_depends_on_the_pepper() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let c = &generate(&mut rng)[0];
        assert_ne!(c.hash(&[1; 32]), c.hash(&[2; 32]));
        assert!(!c.hash(&[1; 32]).contains(&c.display().replace('-', "")));
    }
}
