//! Secrets at rest: XChaCha20-Poly1305 with keys derived from one master key.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::token::hmac_sha256;

const NONCE_LEN: usize = 24;

/// Keys derived from the master key in the data folder (or config).
#[derive(Clone)]
pub struct Keys {
    secret_box: [u8; 32],
    /// Keyed hash of recovery codes, so a stolen database alone does not let
    /// anyone test guesses offline.
    pub pepper: [u8; 32],
    /// Signs CSRF tokens.
    pub csrf: [u8; 32],
    /// Stored in the database on first start, so a node started with another
    /// master key is refused before it writes anything it could not read back.
    pub check: [u8; 32],
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(..)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SecretBoxError {
    #[error("stored secret is damaged or was encrypted with another key")]
    Undecryptable,
}

impl Keys {
    pub fn derive(master: &[u8; 32]) -> Keys {
        Keys {
            secret_box: hmac_sha256(master, b"twostep secret-box v1"),
            pepper: hmac_sha256(master, b"twostep recovery-code pepper v1"),
            csrf: hmac_sha256(master, b"twostep csrf v1"),
            check: hmac_sha256(master, b"twostep key check v1"),
        }
    }

    /// `nonce || ciphertext`; `context` (e.g. the row id) is bound as associated data.
    pub fn seal(&self, rng: &mut dyn rand::RngCore, plaintext: &[u8], context: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let cipher = XChaCha20Poly1305::new((&self.secret_box).into());
        let ct = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: context,
                },
            )
            .expect("encryption of in-memory data cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        out
    }

    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, SecretBoxError> {
        if sealed.len() < NONCE_LEN {
            return Err(SecretBoxError::Undecryptable);
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let cipher = XChaCha20Poly1305::new((&self.secret_box).into());
        cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: context,
                },
            )
            .map_err(|_| SecretBoxError::Undecryptable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn seal_open_and_tamper() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let keys = Keys::derive(&[1; 32]);
        let sealed = keys.seal(&mut rng, b"totp secret", b"auth-1");
        assert!(!sealed.windows(11).any(|w| w == b"totp secret"));
        assert_eq!(keys.open(&sealed, b"auth-1").unwrap(), b"totp secret");
        assert!(keys.open(&sealed, b"auth-2").is_err());
        assert!(Keys::derive(&[2; 32]).open(&sealed, b"auth-1").is_err());
        let mut bad = sealed.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert!(keys.open(&bad, b"auth-1").is_err());
        assert!(keys.open(&[0; 3], b"auth-1").is_err());
    }
}
