//! "Last used" times (sessions, app passwords, SSH keys) are written at most
//! once a minute: a credential that signs every request in would otherwise
//! cost a write per request.

use crate::UnixTime;

pub const TOUCH_EVERY: i64 = 60;

/// Whether a use at `now` should be written, the last one written at `last`.
pub fn due(last: Option<UnixTime>, now: UnixTime) -> bool {
    last.is_none_or(|t| now - t >= TOUCH_EVERY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_a_minute() {
        let t = UnixTime::from_secs(1_000);
        assert!(due(None, t));
        assert!(!due(Some(t), t + 59));
        assert!(due(Some(t), t + 60));
    }
}
