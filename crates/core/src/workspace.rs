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

    #[test]
    fn members_get_their_role_and_strangers_read_public_repositories() {
        assert_eq!(access(Some(Access::Write), true), Access::Write);
        assert_eq!(access(None, true), Access::None);
        assert_eq!(access(None, false), Access::Read);
        assert_eq!(access(Some(Access::Admin), false), Access::Admin);
    }
}
