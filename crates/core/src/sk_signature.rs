//! What a FIDO security key says in its SSH signature
//! (`sk-ssh-ed25519@openssh.com`, `sk-ecdsa-sha2-nistp256@openssh.com`,
//! OpenSSH's PROTOCOL.u2f): after the signature proper come one byte of
//! flags and a four-byte counter, both covered by the signature. A signature
//! whose user-presence flag is clear was made without a touch (malware with
//! the key handle file, a key set to sign silently): OpenSSH's sshd refuses
//! it, and so does twostep.

/// The key was touched.
pub const USER_PRESENT: u8 = 0x01;
/// The key checked its PIN or biometric.
pub const USER_VERIFIED: u8 = 0x04;

/// The authenticator's flags and signature counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assertion {
    pub flags: u8,
    pub counter: u32,
}

impl Assertion {
    /// From the signature's bytes as SSH carries them (the signature, then
    /// flags and counter); `None` when too short to hold them.
    pub fn of(signature: &[u8]) -> Option<Assertion> {
        let at = signature.len().checked_sub(5)?;
        let (flags, counter) = (signature[at], &signature[at + 1..]);
        Some(Assertion {
            flags,
            counter: u32::from_be_bytes(counter.try_into().ok()?),
        })
    }

    pub fn touched(&self) -> bool {
        self.flags & USER_PRESENT != 0
    }

    pub fn verified(&self) -> bool {
        self.flags & USER_VERIFIED != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_counter_are_the_last_five_bytes() {
        let mut sig = vec![7u8; 64];
        sig.extend([0x05, 0, 0, 1, 2]);
        let a = Assertion::of(&sig).unwrap();
        assert_eq!(a.counter, 258);
        assert!(a.touched() && a.verified());
        let mut untouched = vec![7u8; 64];
        untouched.extend([0x00, 0, 0, 0, 9]);
        assert!(!Assertion::of(&untouched).unwrap().touched());
        assert_eq!(Assertion::of(&[1, 2, 3]), None);
    }
}
