//! OpenSSH user certificates as a workspace's authority signs them
//! (`ssh-keygen -s CA -I ID -n PRINCIPALS -V WINDOW key.pub`): what twostep
//! reads of one, and whether it is valid at a moment. The SSH front-end
//! has verified the authority's signature; who the authority is and whom
//! the principals name are the service's to decide.

use crate::UnixTime;

/// What a certificate says, as the SSH front-end read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// `SHA256:…` of the signing authority's public key.
    pub ca_fingerprint: String,
    /// The names it was issued for (usernames here).
    pub principals: Vec<String>,
    /// Unix seconds; 0 is "always" (OpenSSH's sentinel).
    pub valid_after: u64,
    /// Unix seconds, exclusive; `u64::MAX` is "forever".
    pub valid_before: u64,
    /// A user certificate (not a host certificate).
    pub for_users: bool,
    /// Its critical options by name (`source-address`, `force-command`,
    /// `verify-required`): none is enforced here, so any refuses it.
    pub critical_options: Vec<String>,
    /// The certificate's key id (`-I`), for logs.
    pub key_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    Valid,
    NotYet { from: UnixTime },
    Expired { at: UnixTime },
}

fn secs(t: u64) -> UnixTime {
    UnixTime::from_secs(i64::try_from(t).unwrap_or(i64::MAX))
}

/// Whether `c` is within its validity window at `now`.
pub fn validity(c: &Certificate, now: UnixTime) -> Validity {
    if c.valid_after > 0 && now < secs(c.valid_after) {
        return Validity::NotYet {
            from: secs(c.valid_after),
        };
    }
    if c.valid_before != u64::MAX && now >= secs(c.valid_before) {
        return Validity::Expired {
            at: secs(c.valid_before),
        };
    }
    Validity::Valid
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_includes_its_start_and_excludes_its_end() {
        let c = Certificate {
            ca_fingerprint: "SHA256:x".into(),
            principals: vec!["ann".into()],
            valid_after: 100,
            valid_before: 200,
            for_users: true,
            critical_options: vec![],
            key_id: "ann@laptop".into(),
        };
        let at = UnixTime::from_secs;
        assert_eq!(validity(&c, at(99)), Validity::NotYet { from: at(100) });
        assert_eq!(validity(&c, at(100)), Validity::Valid);
        assert_eq!(validity(&c, at(199)), Validity::Valid);
        assert_eq!(validity(&c, at(200)), Validity::Expired { at: at(200) });
        let forever = Certificate {
            valid_after: 0,
            valid_before: u64::MAX,
            ..c
        };
        assert_eq!(validity(&forever, at(i64::MAX)), Validity::Valid);
    }
}
