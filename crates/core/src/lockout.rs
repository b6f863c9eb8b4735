//! Second-factor lockout arithmetic.
//!
//! State machine, per account, over every channel and node:
//!
//! ```text
//!   Open ──wrong factor──▶ Open (one more failure in the window)
//!   Open ──MAX_FAILURES-th wrong factor within WINDOW──▶ Locked{until = now + LOCK_FOR}
//!   Locked ──any attempt──▶ Locked (refused unread, nothing counted)
//!   Locked ──now ≥ until──▶ Open (old failures still count until they leave the window)
//!   any state ──FREEZE_AFTER-th wrong factor in a row──▶ Frozen (until the mailed unlock link)
//!   Open ──right factor──▶ Open (the in-a-row count restarts)
//! ```
//! A replayed code (accepted once already) is refused as used, not counted.
//!
//! Passwords are throttled apart from the second step, per account *and*
//! client (a signed device cookie, the SSH key channel, or "unknown"):
//! `PASSWORD_BUDGET` wrong ones in `WINDOW_SECONDS` pause that client until
//! the oldest leaves the window. An attacker elsewhere never uses up the
//! budget of the owner's known browser. Over every client and window, at
//! `PASSWORD_CEILING` wrong passwords in a row (NIST SP 800-63B-4 §3.2.2)
//! unknown clients are paused until the owner signs in from a known client
//! or follows the mailed unlock link; a right password starts the count again.
//! A login that names no account is counted and paused the same way.
//!
//! The store keeps failure times and `locked_until`; this module only decides.

use crate::UnixTime;

pub const MAX_FAILURES: u32 = 10;
pub const PASSWORD_BUDGET: u32 = 10;
pub const FREEZE_AFTER: i64 = 100;
/// Wrong passwords in a row after which unknown clients are paused.
pub const PASSWORD_CEILING: i64 = 100;
pub const WINDOW_SECONDS: i64 = 15 * 60;
pub const LOCK_SECONDS: i64 = 15 * 60;

/// Where an account's second step stands. The store keeps the two times
/// it is made of; only this module reads them as a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockState {
    /// Codes are checked (and wrong ones counted).
    Open,
    /// Every code is refused unread until `until`.
    Locked { until: UnixTime },
    /// Every code is refused until the mailed unlock link is opened (or an
    /// administrator unlocks, or the owner proves themselves over SSH).
    Frozen,
}

impl LockState {
    /// From the stored lock end and freeze time: a freeze outranks a lock.
    pub fn of(
        locked_until: Option<UnixTime>,
        frozen_at: Option<UnixTime>,
        now: UnixTime,
    ) -> LockState {
        if frozen_at.is_some() {
            return LockState::Frozen;
        }
        match locked_until {
            Some(until) if until > now => LockState::Locked { until },
            _ => LockState::Open,
        }
    }

    pub fn is_open(self) -> bool {
        self == LockState::Open
    }
}

/// What one more wrong factor does, once it is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Counted; this many more before the lock.
    Counted { remaining: u32 },
    /// The window's limit: locked until then.
    Locks { until: UnixTime },
    /// The in-a-row ceiling: frozen.
    Freezes,
}

/// Start of the window that failures are counted in.
pub fn window_start(now: UnixTime) -> UnixTime {
    now - WINDOW_SECONDS
}

/// After a wrong factor has been recorded: `failures_in_window` and
/// `in_a_row` include it.
#[must_use]
pub fn after_failure(failures_in_window: u32, in_a_row: i64, now: UnixTime) -> Failure {
    if in_a_row >= FREEZE_AFTER {
        Failure::Freezes
    } else if failures_in_window >= MAX_FAILURES {
        Failure::Locks {
            until: now + LOCK_SECONDS,
        }
    } else {
        Failure::Counted {
            remaining: MAX_FAILURES - failures_in_window,
        }
    }
}

/// When a client with `failures` wrong passwords in the window (the oldest at
/// `oldest`) may try again; `None` while it has budget left.
pub fn password_paused_until(
    failures: u32,
    oldest: Option<UnixTime>,
    now: UnixTime,
) -> Option<UnixTime> {
    if failures < PASSWORD_BUDGET {
        return None;
    }
    Some(oldest.unwrap_or(now) + WINDOW_SECONDS + 1)
}

/// Whether unknown clients are paused after `in_row` wrong passwords in a row.
pub fn password_ceiling_reached(in_row: i64) -> bool {
    in_row >= PASSWORD_CEILING
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_budget_pauses_until_the_oldest_leaves_the_window() {
        let now = UnixTime::from_secs(5_000);
        assert_eq!(
            password_paused_until(PASSWORD_BUDGET - 1, Some(UnixTime::from_secs(10)), now),
            None
        );
        assert_eq!(
            password_paused_until(PASSWORD_BUDGET, Some(UnixTime::from_secs(4_500)), now),
            Some(UnixTime::from_secs(4_500 + WINDOW_SECONDS + 1))
        );
    }

    #[test]
    fn tenth_failure_locks_for_a_while() {
        let now = UnixTime::from_secs(1_000_000);
        for n in 1..MAX_FAILURES {
            assert_eq!(
                after_failure(n, i64::from(n), now),
                Failure::Counted {
                    remaining: MAX_FAILURES - n
                }
            );
        }
        let until = now + LOCK_SECONDS;
        assert_eq!(
            after_failure(MAX_FAILURES, 10, now),
            Failure::Locks { until }
        );
        assert_eq!(
            LockState::of(Some(until), None, now + 1),
            LockState::Locked { until }
        );
        // The lock ends by itself.
        assert_eq!(LockState::of(Some(until), None, until), LockState::Open);
        assert_eq!(LockState::of(None, None, now), LockState::Open);
        assert_eq!(window_start(now), now - WINDOW_SECONDS);
    }

    #[test]
    fn a_hundredth_wrong_factor_in_a_row_freezes_until_unlocked() {
        let now = UnixTime::from_secs(1_000_000);
        // Fewer than ten in the window (the others spread over hours) but
        // the hundredth in a row: frozen, whatever the window says.
        assert_eq!(
            after_failure(3, FREEZE_AFTER - 1, now),
            Failure::Counted { remaining: 7 }
        );
        assert_eq!(after_failure(3, FREEZE_AFTER, now), Failure::Freezes);
        assert_eq!(
            after_failure(MAX_FAILURES, FREEZE_AFTER, now),
            Failure::Freezes
        );
        // Frozen outranks a lock, and does not end with time.
        let frozen = LockState::of(Some(now + 60), Some(now), now);
        assert_eq!(frozen, LockState::Frozen);
        assert_eq!(
            LockState::of(Some(now + 60), Some(now), now + 1_000_000),
            LockState::Frozen
        );
        assert!(!frozen.is_open());
        assert!(LockState::of(Some(now), None, now).is_open());
    }
}
