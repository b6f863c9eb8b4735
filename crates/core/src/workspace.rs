//! Workspaces' "require two-step verification" policy and what a member's
//! role allows.
//!
//! The policy has three states: off; on with a grace period (members
//! without two-step are told and keep their access until it ends); enforced
//! (nobody without two-step reaches the workspace's repositories, on any
//! channel, with any credential, until they turn it on; nothing is removed).

use crate::repo::Access;
use crate::UnixTime;

/// A week, as GitHub gives organisations' members.
pub const DEFAULT_GRACE: i64 = 7 * 24 * 3600;
pub const MAX_GRACE: i64 = 90 * 24 * 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    Off,
    Grace { until: UnixTime },
    Enforced { since: UnixTime },
}

/// The policy at `now`, from the stored times.
pub fn policy(enforced_at: Option<UnixTime>, now: UnixTime) -> Policy {
    match enforced_at {
        None => Policy::Off,
        Some(t) if now < t => Policy::Grace { until: t },
        Some(t) => Policy::Enforced { since: t },
    }
}

/// Whether the policy keeps someone out of the workspace's repositories.
pub fn refuses(p: Policy, two_step_on: bool) -> bool {
    matches!(p, Policy::Enforced { .. }) && !two_step_on
}

/// What "require" asks of members once the grace period is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Two-step verification on, any second factor.
    TwoStep,
    /// A security key or passkey (of an allowed model, when the workspace
    /// lists models), and web or API sessions signed in with one.
    PhishingResistant,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::TwoStep => "two_step",
            Level::PhishingResistant => "phishing_resistant",
        }
    }

    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "two_step" => Some(Level::TwoStep),
            "phishing_resistant" => Some(Level::PhishingResistant),
            _ => None,
        }
    }

    /// As stored (a value this version does not know reads as two-step).
    pub fn stored(s: &str) -> Level {
        Level::parse(s).unwrap_or(Level::TwoStep)
    }
}

/// The allowed models as stored: AAGUIDs, space-separated ('' = any).
pub fn stored_models(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_string).collect()
}

/// Which SSH keys reach the workspace's repositories.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SshKeyRule {
    Any,
    /// FIDO-backed keys (`sk-ssh-ed25519@openssh.com`, `sk-ecdsa-…`).
    Fido,
    /// FIDO-backed keys marked `verify-required` (PIN or biometric each time).
    FidoVerified,
}

impl SshKeyRule {
    pub fn as_str(self) -> &'static str {
        match self {
            SshKeyRule::Any => "any",
            SshKeyRule::Fido => "fido",
            SshKeyRule::FidoVerified => "fido_verified",
        }
    }

    pub fn parse(s: &str) -> Option<SshKeyRule> {
        match s {
            "any" => Some(SshKeyRule::Any),
            "fido" => Some(SshKeyRule::Fido),
            "fido_verified" => Some(SshKeyRule::FidoVerified),
            _ => None,
        }
    }

    /// As stored (a value this version does not know reads as any).
    pub fn stored(s: &str) -> SshKeyRule {
        SshKeyRule::parse(s).unwrap_or(SshKeyRule::Any)
    }
}

/// A workspace's rules for who reaches its repositories.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    pub policy: Policy,
    pub level: Level,
    /// Plain two-step enforced since (a time passed), while a raised
    /// level's own grace period runs.
    pub two_step_since: Option<UnixTime>,
    /// Authenticator models (AAGUIDs) allowed; empty: any.
    pub models: &'a [String],
    pub ssh_keys: SshKeyRule,
    pub certificates_required: bool,
}

/// How the caller came, as far as the rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via<'a> {
    /// A browser or API session; the model of the key its sign-in used
    /// (`Some("")`: a key of unknown model), if it used one.
    Session { key_model: Option<&'a str> },
    /// An app password, an OAuth token, HTTP Basic: the account's factors count.
    Token,
    /// A registered SSH key.
    SshKey { fido: bool, verify_required: bool },
    /// An SSH certificate signed by one of the workspace's authorities. It
    /// never counts as a FIDO key: the touch behind a certified FIDO key is
    /// not seen (the certificate's handler gets no signature).
    SshCertificate,
}

/// What the caller brings.
#[derive(Debug, Clone, Copy)]
pub struct Presented<'a> {
    pub two_step_on: bool,
    /// The models (AAGUIDs) of the account's security keys and passkeys.
    pub key_models: &'a [String],
    pub via: Via<'a>,
}

/// What keeps a caller out, in the order the rules are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shortfall {
    TwoStepOff { since: UnixTime },
    NoPhishingResistantFactor { since: UnixTime },
    ModelNotAllowed { since: UnixTime },
    SessionNotSignedInWithKey,
    CertificateRequired,
    SshKeyNotFido,
    SshKeyNotVerified,
}

/// Whether a key of `model` counts where `models` are allowed (none listed: any).
pub fn model_allowed(models: &[String], model: &str) -> bool {
    models.is_empty() || models.iter().any(|m| m == model)
}

/// The first rule the caller does not meet, if any. The two-step levels
/// wait for the grace period; the SSH rules hold at once.
pub fn shortfall(r: &Rules<'_>, p: &Presented<'_>) -> Option<Shortfall> {
    if let (Some(since), false) = (r.two_step_since, p.two_step_on) {
        return Some(Shortfall::TwoStepOff { since });
    }
    if let Policy::Enforced { since } = r.policy {
        if !p.two_step_on {
            return Some(Shortfall::TwoStepOff { since });
        }
        if r.level == Level::PhishingResistant {
            if p.key_models.is_empty() {
                return Some(Shortfall::NoPhishingResistantFactor { since });
            }
            if !p.key_models.iter().any(|m| model_allowed(r.models, m)) {
                return Some(Shortfall::ModelNotAllowed { since });
            }
            if let Via::Session { key_model } = p.via {
                if !key_model.is_some_and(|m| model_allowed(r.models, m)) {
                    return Some(Shortfall::SessionNotSignedInWithKey);
                }
            }
        }
    }
    match p.via {
        Via::SshKey { .. } if r.certificates_required => Some(Shortfall::CertificateRequired),
        Via::SshKey { fido: false, .. } | Via::SshCertificate if r.ssh_keys != SshKeyRule::Any => {
            Some(Shortfall::SshKeyNotFido)
        }
        Via::SshKey {
            verify_required: false,
            ..
        } if r.ssh_keys == SshKeyRule::FidoVerified => Some(Shortfall::SshKeyNotVerified),
        _ => None,
    }
}

/// Whether the requirement (at its level) would keep this account out once
/// enforced, whatever channel it comes by: for the banner and the mail.
pub fn account_short(r: &Rules<'_>, two_step_on: bool, key_models: &[String]) -> bool {
    let enforced = Rules {
        policy: Policy::Enforced {
            since: UnixTime::EPOCH,
        },
        two_step_since: None,
        ssh_keys: SshKeyRule::Any,
        certificates_required: false,
        ..*r
    };
    let p = Presented {
        two_step_on,
        key_models,
        via: Via::Token,
    };
    !matches!(r.policy, Policy::Off) && shortfall(&enforced, &p).is_some()
}

/// A requirement as stored: when it was turned on, from when it holds, at
/// which level, and the floor of plain two-step while a raised level waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    pub required_at: Option<UnixTime>,
    pub enforced_at: Option<UnixTime>,
    pub level: Level,
    pub floor_at: Option<UnixTime>,
}

/// The requirement after an admin saves `level` (`None`: off) with `grace`
/// seconds at `now`. Saving again never lifts what holds already: the same
/// or a lower level keeps its date (a shorter grace may bring it closer);
/// a raised level gets its grace period while plain two-step stays
/// enforced from its own date.
pub fn next(current: Stored, level: Option<Level>, grace: i64, now: UnixTime) -> Stored {
    let Some(level) = level else {
        return Stored {
            required_at: None,
            enforced_at: None,
            level: Level::TwoStep,
            floor_at: None,
        };
    };
    let fresh = now + grace;
    let Some(was) = current.enforced_at else {
        return Stored {
            required_at: Some(now),
            enforced_at: Some(fresh),
            level,
            floor_at: None,
        };
    };
    let required_at = current.required_at.or(Some(now));
    if level == Level::PhishingResistant && current.level == Level::TwoStep {
        return Stored {
            required_at,
            enforced_at: Some(fresh),
            level,
            floor_at: Some(was),
        };
    }
    Stored {
        required_at,
        enforced_at: Some(was.min(fresh)),
        level,
        floor_at: current
            .floor_at
            .filter(|_| level == Level::PhishingResistant),
    }
}

/// Repository access of a member with `role` (`read`, `write`, `admin`), or
/// of anyone signed in to a public repository.
pub fn access(role: Option<Access>, is_private: bool) -> Access {
    let public = if is_private {
        Access::None
    } else {
        Access::Read
    };
    role.unwrap_or(Access::None).max(public)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> UnixTime {
        UnixTime::from_secs(s)
    }

    #[test]
    fn the_grace_period_ends_at_its_time_and_only_two_step_off_is_refused() {
        assert_eq!(policy(None, t(5)), Policy::Off);
        assert_eq!(policy(Some(t(10)), t(9)), Policy::Grace { until: t(10) });
        assert_eq!(
            policy(Some(t(10)), t(10)),
            Policy::Enforced { since: t(10) }
        );
        assert!(
            !refuses(policy(Some(t(10)), t(9)), false),
            "grace keeps access"
        );
        assert!(refuses(policy(Some(t(10)), t(10)), false));
        assert!(!refuses(policy(Some(t(10)), t(10)), true));
        assert!(!refuses(Policy::Off, false));
    }

    fn pr(models: &[String]) -> Rules<'_> {
        Rules {
            policy: Policy::Enforced { since: t(1) },
            level: Level::PhishingResistant,
            two_step_since: None,
            models,
            ssh_keys: SshKeyRule::Any,
            certificates_required: false,
        }
    }

    #[test]
    fn the_phishing_resistant_level_asks_for_a_key_and_a_session_signed_in_with_one() {
        let none: Vec<String> = vec![];
        let yubi = vec!["cb69481e-8ff7-4039-93ec-0a2729a154a8".to_string()];
        let other = vec!["01020304-0506-0708-0102-030405060708".to_string()];
        let session = |m| Via::Session { key_model: m };
        let p = |two_step_on, key_models, via| Presented {
            two_step_on,
            key_models,
            via,
        };
        let r = pr(&none);
        assert_eq!(
            shortfall(&r, &p(false, &yubi, Via::Token)),
            Some(Shortfall::TwoStepOff { since: t(1) })
        );
        assert_eq!(
            shortfall(&r, &p(true, &none, Via::Token)),
            Some(Shortfall::NoPhishingResistantFactor { since: t(1) })
        );
        assert_eq!(shortfall(&r, &p(true, &yubi, Via::Token)), None);
        assert_eq!(
            shortfall(&r, &p(true, &yubi, session(None))),
            Some(Shortfall::SessionNotSignedInWithKey)
        );
        assert_eq!(
            shortfall(&r, &p(true, &yubi, session(Some(&yubi[0])))),
            None
        );
        // An allow-list: the account's key and the session's must be on it.
        let r = pr(&yubi);
        assert_eq!(
            shortfall(&r, &p(true, &other, Via::Token)),
            Some(Shortfall::ModelNotAllowed { since: t(1) })
        );
        let both = [yubi[0].clone(), other[0].clone()];
        assert_eq!(
            shortfall(&r, &p(true, &both, session(Some(&other[0])))),
            Some(Shortfall::SessionNotSignedInWithKey)
        );
        assert_eq!(
            shortfall(&r, &p(true, &yubi, session(Some("")))),
            Some(Shortfall::SessionNotSignedInWithKey)
        );
        // In the grace period nothing is refused, but the account is told.
        let grace = Rules {
            policy: Policy::Grace { until: t(9) },
            ..pr(&none)
        };
        assert_eq!(shortfall(&grace, &p(true, &none, session(None))), None);
        assert!(account_short(&grace, true, &none));
        assert!(!account_short(&grace, true, &yubi));
        assert!(!account_short(
            &Rules {
                policy: Policy::Off,
                ..pr(&none)
            },
            false,
            &none
        ));
    }

    #[test]
    fn saving_again_never_lifts_what_holds() {
        let off = Stored {
            required_at: None,
            enforced_at: None,
            level: Level::TwoStep,
            floor_at: None,
        };
        let on = next(off, Some(Level::TwoStep), 100, t(10));
        assert_eq!((on.enforced_at, on.floor_at), (Some(t(110)), None));
        // The same level saved later with a week's grace keeps its date...
        let again = next(on, Some(Level::TwoStep), 604_800, t(200));
        assert_eq!(again.enforced_at, Some(t(110)));
        // ...a shorter grace brings it closer.
        assert_eq!(
            next(on, Some(Level::TwoStep), 0, t(50)).enforced_at,
            Some(t(50))
        );
        // Raised: keys get their grace, two-step stays enforced from t(110).
        let raised = next(again, Some(Level::PhishingResistant), 1000, t(300));
        assert_eq!(
            (raised.enforced_at, raised.floor_at, raised.required_at),
            (Some(t(1300)), Some(t(110)), Some(t(10)))
        );
        let none: Vec<String> = vec![];
        let rules = Rules {
            policy: policy(raised.enforced_at, t(400)),
            level: raised.level,
            two_step_since: raised.floor_at.filter(|f| *f <= t(400)),
            models: &none,
            ssh_keys: SshKeyRule::Any,
            certificates_required: false,
        };
        let p = |two_step_on| Presented {
            two_step_on,
            key_models: &[],
            via: Via::Token,
        };
        assert_eq!(
            shortfall(&rules, &p(false)),
            Some(Shortfall::TwoStepOff { since: t(110) }),
            "no lapse while the keys' grace runs"
        );
        assert_eq!(shortfall(&rules, &p(true)), None);
        // Models changed at the same level: the date and the floor stay.
        let same = next(raised, Some(Level::PhishingResistant), 604_800, t(500));
        assert_eq!(
            (same.enforced_at, same.floor_at),
            (Some(t(1300)), Some(t(110)))
        );
        assert_eq!(next(same, None, 0, t(600)), off);
    }

    #[test]
    fn ssh_rules_hold_at_once_and_on_ssh_only() {
        let none: Vec<String> = vec![];
        let mut r = Rules {
            policy: Policy::Off,
            level: Level::TwoStep,
            two_step_since: None,
            models: &none,
            ssh_keys: SshKeyRule::Fido,
            certificates_required: false,
        };
        let key = |fido, verify_required| Presented {
            two_step_on: false,
            key_models: &[],
            via: Via::SshKey {
                fido,
                verify_required,
            },
        };
        assert_eq!(
            shortfall(&r, &key(false, false)),
            Some(Shortfall::SshKeyNotFido)
        );
        assert_eq!(shortfall(&r, &key(true, false)), None);
        r.ssh_keys = SshKeyRule::FidoVerified;
        assert_eq!(
            shortfall(&r, &key(true, false)),
            Some(Shortfall::SshKeyNotVerified)
        );
        assert_eq!(shortfall(&r, &key(true, true)), None);
        let token = Presented {
            two_step_on: false,
            key_models: &[],
            via: Via::Token,
        };
        assert_eq!(shortfall(&r, &token), None, "HTTPS is not SSH");
        r.certificates_required = true;
        assert_eq!(
            shortfall(&r, &key(true, true)),
            Some(Shortfall::CertificateRequired)
        );
        let cert = Presented {
            via: Via::SshCertificate,
            ..token
        };
        assert_eq!(shortfall(&r, &cert), Some(Shortfall::SshKeyNotFido));
        r.ssh_keys = SshKeyRule::Any;
        assert_eq!(shortfall(&r, &cert), None);
    }

    #[test]
    fn members_get_their_role_and_strangers_read_public_repositories() {
        assert_eq!(access(Some(Access::Write), true), Access::Write);
        assert_eq!(access(None, true), Access::None);
        assert_eq!(access(None, false), Access::Read);
        assert_eq!(access(Some(Access::Admin), false), Access::Admin);
    }
}
