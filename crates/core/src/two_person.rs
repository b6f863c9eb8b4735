//! The two-person rule for administrators' second factors: no sequence of
//! actions by one administrator resets, removes or replaces the factors of
//! another administrator.
//!
//! - A target counts as an administrator if it holds the right now or ever
//!   held it (so revoking the right first does not open the way).
//! - Such a reset waits for a second administrator who held the right
//!   before the request was made (so granting the right to an account one
//!   controls, and approving with it minutes later, fails), who is neither
//!   the requester nor the target, and who is not of the requester's line:
//!   neither's right may descend from the other's through any grant ever
//!   made (so a patient administrator can neither make their own approver
//!   nor have an account of theirs ask and approve it themselves; revoking
//!   and granting again adds to the history, it never rewrites it).
//! - The server's command line is the operator, outside the rule.

use crate::{UnixTime, UserId};

/// How an account came by its administrator right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminFacts {
    pub is_admin: bool,
    /// When the current right was granted.
    pub since: Option<UnixTime>,
    /// When the account first became an administrator (never cleared).
    pub first_at: Option<UnixTime>,
}

/// Whether changing `target`'s second factors needs a second administrator.
pub fn protected(target: &AdminFacts) -> bool {
    target.is_admin || target.first_at.is_some()
}

/// Why an administrator may not approve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotApprover {
    NotAdmin,
    Requester,
    Target,
    /// Became an administrator at or after the request.
    TooNew,
    /// Their right descends from the requester's grants.
    GrantedByRequester,
    /// The requester's right descends from theirs.
    MadeTheRequester,
}

/// Whether `approver` may approve `requester`'s request about `target`,
/// made at `requested_at`. `approver_line` and `requester_line`: everyone
/// from whom each one's right descends, through every grant ever made (the
/// server's command line is in nobody's line).
pub fn may_approve(
    approver: (&UserId, &AdminFacts),
    approver_line: &[UserId],
    requester: &UserId,
    requester_line: &[UserId],
    target: &UserId,
    requested_at: UnixTime,
) -> Result<(), NotApprover> {
    let (id, facts) = approver;
    if !facts.is_admin {
        return Err(NotApprover::NotAdmin);
    }
    if id == requester {
        return Err(NotApprover::Requester);
    }
    if id == target {
        return Err(NotApprover::Target);
    }
    if facts.since.is_none_or(|s| s >= requested_at) {
        return Err(NotApprover::TooNew);
    }
    if approver_line.contains(requester) {
        return Err(NotApprover::GrantedByRequester);
    }
    if requester_line.contains(id) {
        return Err(NotApprover::MadeTheRequester);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> UserId {
        UserId::new(s.to_string())
    }

    fn admin(since: i64) -> AdminFacts {
        AdminFacts {
            is_admin: true,
            since: Some(UnixTime::from_secs(since)),
            first_at: Some(UnixTime::from_secs(since)),
        }
    }

    #[test]
    fn a_former_administrator_stays_protected() {
        assert!(protected(&admin(5)));
        let revoked = AdminFacts {
            is_admin: false,
            since: None,
            first_at: Some(UnixTime::from_secs(5)),
        };
        assert!(protected(&revoked), "revoke-then-reset must still wait");
        let never = AdminFacts {
            is_admin: false,
            since: None,
            first_at: None,
        };
        assert!(!protected(&never));
    }

    #[test]
    fn one_administrator_alone_never_approves() {
        let (a, b, t) = (id("a"), id("b"), id("t"));
        let at = UnixTime::from_secs(1_000);
        // An honest second administrator, granted by the operator long ago.
        assert_eq!(may_approve((&b, &admin(10)), &[], &a, &[], &t, at), Ok(()));
        // The requester, or the target, is no second person.
        assert_eq!(
            may_approve((&a, &admin(10)), &[], &a, &[], &t, at),
            Err(NotApprover::Requester)
        );
        assert_eq!(
            may_approve((&t, &admin(10)), &[], &a, &[], &t, at),
            Err(NotApprover::Target)
        );
        // Granted during the request (or after): too new.
        assert_eq!(
            may_approve((&b, &admin(1_000)), &[], &a, &[], &t, at),
            Err(NotApprover::TooNew)
        );
        // Granted by the requester long before: still the requester's own.
        assert_eq!(
            may_approve((&b, &admin(10)), std::slice::from_ref(&a), &a, &[], &t, at),
            Err(NotApprover::GrantedByRequester)
        );
        // Or by someone the requester granted.
        assert_eq!(
            may_approve((&b, &admin(10)), &[id("c"), a.clone()], &a, &[], &t, at),
            Err(NotApprover::GrantedByRequester)
        );
        // Someone who lost the right cannot approve.
        let gone = AdminFacts {
            is_admin: false,
            since: None,
            first_at: Some(UnixTime::from_secs(1)),
        };
        assert_eq!(
            may_approve((&b, &gone), &[], &a, &[], &t, at),
            Err(NotApprover::NotAdmin)
        );
        // An account of the approver's making asks, and the approver
        // approves: the same one person.
        assert_eq!(
            may_approve((&b, &admin(10)), &[], &a, std::slice::from_ref(&b), &t, at),
            Err(NotApprover::MadeTheRequester)
        );
        // Two administrators of one line (both granted by the operator's
        // first administrator) are two people to each other.
        let root = id("root");
        assert_eq!(
            may_approve(
                (&b, &admin(10)),
                std::slice::from_ref(&root),
                &a,
                std::slice::from_ref(&root),
                &t,
                at
            ),
            Ok(())
        );
    }
}
