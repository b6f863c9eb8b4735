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

/// Why a security key's signature is refused, as OpenSSH's sshd says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkRefusal {
    /// "user presence (authenticator touch) requirement not met"
    NotTouched,
    /// "user verification requirement not met"
    NotVerified,
}

impl SkRefusal {
    pub fn as_str(self) -> &'static str {
        match self {
            SkRefusal::NotTouched => "user presence (authenticator touch) requirement not met",
            SkRefusal::NotVerified => "user verification requirement not met",
        }
    }
}

/// sshd's decision for a FIDO key's signature under the key's options: a
/// touch unless `no-touch-required`, a PIN or biometric if `verify-required`.
pub fn admit(said: Option<Assertion>, options: crate::sshkey::KeyOptions) -> Result<(), SkRefusal> {
    let Some(a) = said else {
        return Err(SkRefusal::NotTouched);
    };
    if !a.touched() && !options.no_touch_required {
        return Err(SkRefusal::NotTouched);
    }
    if options.verify_required && !a.verified() {
        return Err(SkRefusal::NotVerified);
    }
    Ok(())
}

/// Whether a signature counter went back (or stood still) against the
/// highest one seen: a second copy of the key signs somewhere (a cloned
/// key). Keys that always say 0 have no counter to check.
pub fn counter_went_back(highest: Option<i64>, counter: u32) -> bool {
    matches!(highest, Some(h) if h > 0 && i64::from(counter) <= h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sshkey::KeyOptions;

    #[test]
    fn each_flag_combination_is_decided_as_sshd_does() {
        let a = |flags| Some(Assertion { flags, counter: 1 });
        let none = KeyOptions::default();
        let verify = KeyOptions {
            verify_required: true,
            ..none
        };
        let no_touch = KeyOptions {
            no_touch_required: true,
            ..none
        };
        let both = KeyOptions {
            verify_required: true,
            no_touch_required: true,
        };
        // flags: 0x01 touched, 0x04 verified.
        let table = [
            (
                none,
                [
                    Err(SkRefusal::NotTouched),
                    Ok(()),
                    Err(SkRefusal::NotTouched),
                    Ok(()),
                ],
            ),
            (
                verify,
                [
                    Err(SkRefusal::NotTouched),
                    Err(SkRefusal::NotVerified),
                    Err(SkRefusal::NotTouched),
                    Ok(()),
                ],
            ),
            (no_touch, [Ok(()), Ok(()), Ok(()), Ok(())]),
            (
                both,
                [
                    Err(SkRefusal::NotVerified),
                    Err(SkRefusal::NotVerified),
                    Ok(()),
                    Ok(()),
                ],
            ),
        ];
        for (options, expected) in table {
            for (flags, want) in [0x00, 0x01, 0x04, 0x05].into_iter().zip(expected) {
                assert_eq!(
                    admit(a(flags), options),
                    want,
                    "{options:?} flags {flags:#x}"
                );
            }
        }
        assert_eq!(admit(None, no_touch), Err(SkRefusal::NotTouched));
    }

    #[test]
    fn a_counter_that_goes_back_is_noticed() {
        assert!(!counter_went_back(None, 5));
        assert!(!counter_went_back(Some(0), 0));
        assert!(!counter_went_back(Some(4), 5));
        assert!(counter_went_back(Some(5), 5));
        assert!(counter_went_back(Some(9), 3));
    }

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
