//! HOTP/TOTP (RFC 4226, RFC 6238) through totp-rs, plus the rules twostep adds:
//! a window of one step either side and no reuse of a step (RFC 6238 §5.2).

use totp_rs::{Algorithm, TOTP};

use crate::drift::Check;
use crate::UnixTime;

/// 160-bit secrets: what RFC 4226 recommends and the minimum pyotp accepts.
pub const SECRET_LEN: usize = 20;
pub const DIGITS: usize = 6;
pub const STEP_SECONDS: u64 = 30;
/// Steps accepted either side of the server's current step (clock drift).
pub const SKEW_STEPS: u64 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    Sha1,
    Sha256,
    Sha512,
}

impl Hash {
    fn algorithm(self) -> Algorithm {
        match self {
            Hash::Sha1 => Algorithm::SHA1,
            Hash::Sha256 => Algorithm::SHA256,
            Hash::Sha512 => Algorithm::SHA512,
        }
    }
}

/// How a device makes its codes: twostep's apps use `STANDARD`; hardware
/// tokens from seed files may use SHA-256, 8 digits or 60-second steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    pub hash: Hash,
    pub digits: usize,
    pub period: u64,
}

impl Params {
    pub const STANDARD: Params = Params {
        hash: Hash::Sha1,
        digits: DIGITS,
        period: STEP_SECONDS,
    };

    /// The device's code for time step `step`.
    pub fn code(&self, secret: &[u8], step: u64) -> String {
        hotp(secret, self.hash, self.digits, step)
    }

    /// The time step `now` falls in.
    pub fn step(&self, now: UnixTime) -> u64 {
        now.unsigned_secs() / self.period.max(1)
    }

    /// The device's code at `now`.
    pub fn code_at(&self, secret: &[u8], now: UnixTime) -> String {
        self.code(secret, self.step(now))
    }
}

impl Hash {
    pub fn as_str(self) -> &'static str {
        match self {
            Hash::Sha1 => "sha1",
            Hash::Sha256 => "sha256",
            Hash::Sha512 => "sha512",
        }
    }

    pub fn parse(s: &str) -> Option<Hash> {
        Some(match s {
            "sha1" => Hash::Sha1,
            "sha256" => Hash::Sha256,
            "sha512" => Hash::Sha512,
            _ => return None,
        })
    }
}

/// RFC 4226 HOTP value for `counter`.
pub fn hotp(secret: &[u8], hash: Hash, digits: usize, counter: u64) -> String {
    // A TOTP with a 1-second step at time `counter` is HOTP(counter).
    TOTP::new_unchecked(hash.algorithm(), digits, 0, 1, secret.to_vec()).generate(counter)
}

/// RFC 6238 TOTP value at unix time `unix` with the given step.
pub fn totp_at(secret: &[u8], hash: Hash, digits: usize, step: u64, unix: u64) -> String {
    hotp(secret, hash, digits, unix / step)
}

/// The time step a unix time falls in, for twostep's fixed 30 s step.
pub fn step_of(now: UnixTime) -> u64 {
    now.unsigned_secs() / STEP_SECONDS
}

/// The 6-digit SHA1/30 s code twostep expects at `now`.
pub fn code_at(secret: &[u8], now: UnixTime) -> String {
    totp_at(
        secret,
        Hash::Sha1,
        DIGITS,
        STEP_SECONDS,
        now.unsigned_secs(),
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TotpRejection {
    #[error("That code is not right. Check that your phone's clock is set automatically, then try the newest code.")]
    Wrong,
    #[error("That code has already been used. Wait for your app to show a new code.")]
    Replayed,
}

/// Checks a normalised 6-digit code. `last_step` is the newest step already
/// accepted for this authenticator; on success the matched step is returned
/// and must be stored (atomically: "only if newer than what is stored").
#[must_use = "the accepted step must be persisted to stop replays"]
pub fn verify(
    secret: &[u8],
    code: &str,
    now: UnixTime,
    last_step: Option<u64>,
) -> Result<u64, TotpRejection> {
    match crate::drift::check(secret, &Params::STANDARD, code, now, 0, last_step) {
        Check::Accepted { step } => Ok(step),
        Check::Replayed => Err(TotpRejection::Replayed),
        Check::NearMiss { .. } | Check::Wrong => Err(TotpRejection::Wrong),
    }
}

/// Base32 (RFC 4648, no padding) as authenticator apps expect.
pub fn secret_base32(secret: &[u8]) -> String {
    data_encoding::BASE32_NOPAD.encode(secret)
}

/// The key in groups of four, easier to type into an app by hand.
pub fn secret_grouped(secret: &[u8]) -> String {
    let b32 = secret_base32(secret);
    b32.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `otpauth://totp/ISSUER:ACCOUNT?secret=…&issuer=…` (Key Uri Format).
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={}&period={}",
        uri_escape(issuer),
        uri_escape(account),
        secret_base32(secret),
        uri_escape(issuer),
        DIGITS,
        STEP_SECONDS
    )
}

fn uri_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'@') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn new_secret(rng: &mut dyn rand::RngCore) -> [u8; SECRET_LEN] {
    let mut s = [0u8; SECRET_LEN];
    rng.fill_bytes(&mut s);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_SEED: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc4226_appendix_d() {
        let expected = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        for (counter, want) in expected.iter().enumerate() {
            assert_eq!(hotp(RFC_SEED, Hash::Sha1, 6, counter as u64), *want);
        }
    }

    #[test]
    fn rfc6238_appendix_b() {
        let seed32 = b"12345678901234567890123456789012";
        let seed64 = b"1234567890123456789012345678901234567890123456789012345678901234";
        let rows: [(u64, &str, &str, &str); 6] = [
            (59, "94287082", "46119246", "90693936"),
            (1111111109, "07081804", "68084774", "25091201"),
            (1111111111, "14050471", "67062674", "99943326"),
            (1234567890, "89005924", "91819424", "93441116"),
            (2000000000, "69279037", "90698825", "38618901"),
            (20000000000, "65353130", "77737706", "47863826"),
        ];
        for (t, sha1, sha256, sha512) in rows {
            assert_eq!(totp_at(RFC_SEED, Hash::Sha1, 8, 30, t), sha1, "sha1 t={t}");
            assert_eq!(
                totp_at(seed32, Hash::Sha256, 8, 30, t),
                sha256,
                "sha256 t={t}"
            );
            assert_eq!(
                totp_at(seed64, Hash::Sha512, 8, 30, t),
                sha512,
                "sha512 t={t}"
            );
        }
    }

    #[test]
    fn one_step_either_side_is_accepted() {
        let t = UnixTime::from_secs(1_700_000_015);
        for delta in [-30i64, 0, 30] {
            let code = code_at(RFC_SEED, t + delta);
            assert!(verify(RFC_SEED, &code, t, None).is_ok(), "delta {delta}");
        }
        for delta in [-60i64, 60] {
            let code = code_at(RFC_SEED, t + delta);
            assert_eq!(verify(RFC_SEED, &code, t, None), Err(TotpRejection::Wrong));
        }
    }

    #[test]
    fn a_step_is_accepted_once() {
        let t = UnixTime::from_secs(1_700_000_015);
        let code = code_at(RFC_SEED, t);
        let step = verify(RFC_SEED, &code, t, None).unwrap();
        assert_eq!(step, step_of(t));
        assert_eq!(
            verify(RFC_SEED, &code, t, Some(step)),
            Err(TotpRejection::Replayed)
        );
        // An older code stays refused after a newer one was used.
        let older = code_at(RFC_SEED, t - 30);
        assert_eq!(
            verify(RFC_SEED, &older, t, Some(step)),
            Err(TotpRejection::Replayed)
        );
        let next = code_at(RFC_SEED, t + 30);
        assert_eq!(verify(RFC_SEED, &next, t, Some(step)), Ok(step + 1));
    }

    #[test]
    fn otpauth_uri_is_standard() {
        let uri = otpauth_uri("twostep", "alice@example.com", RFC_SEED);
        assert_eq!(
            uri,
            "otpauth://totp/twostep:alice@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=twostep&algorithm=SHA1&digits=6&period=30"
        );
        assert!(
            otpauth_uri("My Git", "a b", RFC_SEED).starts_with("otpauth://totp/My%20Git:a%20b?")
        );
        assert_eq!(
            secret_grouped(RFC_SEED),
            "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ"
        );
    }
}
