//! Random bearer tokens (sessions, mailed links) and how they are stored.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// 32 random bytes, URL-safe base64: what goes into a cookie or a link.
pub fn new_token(rng: &mut dyn rand::RngCore) -> String {
    let mut b = [0u8; 32];
    rng.fill_bytes(&mut b);
    data_encoding::BASE64URL_NOPAD.encode(&b)
}

/// Stored form of a high-entropy token: its SHA-256, hex.
pub fn token_hash(token: &str) -> String {
    data_encoding::HEXLOWER.encode(&Sha256::digest(token.as_bytes()))
}

/// HMAC-SHA256, hex: for values whose entropy alone is not enough.
pub fn keyed_hash(key: &[u8; 32], data: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(&hmac_sha256(key, data))
}

pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// A short random identifier for rows (not a secret).
pub fn new_id(rng: &mut dyn rand::RngCore) -> String {
    let mut b = [0u8; 12];
    rng.fill_bytes(&mut b);
    data_encoding::HEXLOWER.encode(&b)
}

/// Equality of two secrets (or their hashes) in time that does not depend
/// on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    bool::from(subtle::ConstantTimeEq::ct_eq(a, b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn tokens_are_long_and_hashes_hide_them() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let t = new_token(&mut rng);
        assert_eq!(t.len(), 43);
        let h = token_hash(&t);
        assert_eq!(h.len(), 64);
        assert!(!h.contains(&t));
        assert_ne!(new_token(&mut rng), t);
    }
}
