use std::time::{SystemTime, UNIX_EPOCH};

use twostep_core::UnixTime;

/// The only source of time for decisions; tests may inject their own.
pub trait Clock: Send + Sync {
    fn now(&self) -> UnixTime;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        UnixTime::from_secs(i64::try_from(secs).unwrap_or(i64::MAX))
    }
}
