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
//! budget of the owner's known browser.
//!
//! The store keeps failure times and `locked_until`; this module only decides.

use crate::UnixTime;

pub const MAX_FAILURES: u32 = 10;
pub const PASSWORD_BUDGET: u32 = 10;
pub const FREEZE_AFTER: i64 = 100;
pub const WINDOW_SECONDS: i64 = 15 * 60;
pub const LOCK_SECONDS: i64 = 15 * 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockState {
    Open,
    Locked { until: UnixTime },
}

pub fn state(locked_until: Option<UnixTime>, now: UnixTime) -> LockState {
    match locked_until {
        Some(until) if until > now => LockState::Locked { until },
        _ => LockState::Open,
    }
}

/// Start of the window that failures are counted in.
pub fn window_start(now: UnixTime) -> UnixTime {
    now - WINDOW_SECONDS
}

/// After a failure has been recorded: `failures_in_window` includes it.
/// Returns the new lock's end if this failure locks the account.
#[must_use]
pub fn after_failure(failures_in_window: u32, now: UnixTime) -> Option<UnixTime> {
    (failures_in_window >= MAX_FAILURES).then_some(now + LOCK_SECONDS)
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

/// How many attempts are left before the lock, for the message shown.
pub fn remaining(failures_in_window: u32) -> u32 {
    MAX_FAILURES.saturating_sub(failures_in_window)
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
            assert_eq!(after_failure(n, now), None);
        }
        let until = after_failure(MAX_FAILURES, now).unwrap();
        assert_eq!(until, now + LOCK_SECONDS);
        assert_eq!(state(Some(until), now + 1), LockState::Locked { until });
        assert_eq!(state(Some(until), until), LockState::Open);
        assert_eq!(state(None, now), LockState::Open);
        assert_eq!(remaining(3), 7);
        assert_eq!(window_start(now), now - WINDOW_SECONDS);
    }
}
