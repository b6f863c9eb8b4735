//! Seconds since the Unix epoch: the one time type from the clock through
//! every rule to the database column (stored as a signed 64-bit integer).

use std::fmt;
use std::ops::{Add, Sub};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct UnixTime(i64);

impl UnixTime {
    pub const EPOCH: UnixTime = UnixTime(0);

    pub const fn from_secs(secs: i64) -> Self {
        UnixTime(secs)
    }

    pub const fn secs(self) -> i64 {
        self.0
    }

    /// For arithmetic that counts from the epoch (TOTP steps); times before
    /// 1970 count as the epoch.
    pub fn unsigned_secs(self) -> u64 {
        u64::try_from(self.0).unwrap_or(0)
    }
}

/// A later (or, with a negative number, earlier) time.
impl Add<i64> for UnixTime {
    type Output = UnixTime;
    fn add(self, secs: i64) -> UnixTime {
        UnixTime(self.0.saturating_add(secs))
    }
}

impl Sub<i64> for UnixTime {
    type Output = UnixTime;
    fn sub(self, secs: i64) -> UnixTime {
        UnixTime(self.0.saturating_sub(secs))
    }
}

/// Seconds between two times.
impl Sub<UnixTime> for UnixTime {
    type Output = i64;
    fn sub(self, earlier: UnixTime) -> i64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl fmt::Display for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_and_orders() {
        let t = UnixTime::from_secs(100);
        assert_eq!((t + 50).secs(), 150);
        assert_eq!(t + 50 - t, 50);
        assert!(t < t + 1);
        assert_eq!((UnixTime::from_secs(i64::MAX) + 1).secs(), i64::MAX);
        assert_eq!(UnixTime::from_secs(-5).unsigned_secs(), 0);
    }
}
