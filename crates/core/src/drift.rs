//! Clock drift of hardware tokens (RFC 4226 §7.4, RFC 6238 §6).
//!
//! Each authenticator keeps a learned drift in steps; codes are accepted at
//! that drift ± 1 step. A code that misses the window but matches within
//! `RESYNC_STEPS` of the server's step is a near miss: the device is asked for
//! its next code, and two consecutive codes that agree set the new drift.
//! A near miss is still a wrong code for the lockout.

use subtle::ConstantTimeEq;

use crate::totp::{Params, SKEW_STEPS};
use crate::UnixTime;

/// How far (in steps either side of the server's) a device may be to be
/// resynchronised: 10 steps, 5 minutes.
pub const RESYNC_STEPS: i64 = 10;
/// How long the server waits for the next code after a near miss.
pub const RESYNC_SECONDS: i64 = 5 * 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Check {
    /// Inside the window; the step must be stored (only if newer).
    Accepted {
        step: u64,
    },
    /// Inside the window, but that step was used already.
    Replayed,
    /// Outside the window but close: ask for the device's next code.
    /// `offset` is the device's lead over the server, in steps.
    NearMiss {
        step: u64,
        offset: i64,
    },
    Wrong,
}

fn matches(secret: &[u8], p: &Params, code: &str, step: i64) -> bool {
    let Ok(step) = u64::try_from(step) else {
        return false;
    };
    code.len() == p.digits && bool::from(p.code(secret, step).as_bytes().ct_eq(code.as_bytes()))
}

/// Checks a normalised code against an authenticator with `drift`, whose
/// newest accepted step is `last_step`.
pub fn check(
    secret: &[u8],
    p: &Params,
    code: &str,
    now: UnixTime,
    drift: i64,
    last_step: Option<u64>,
) -> Check {
    let server = i64::try_from(p.step(now)).unwrap_or(i64::MAX);
    let center = server.saturating_add(drift);
    let skew = i64::try_from(SKEW_STEPS).unwrap_or(1);
    let used = |step: i64| last_step.is_some_and(|l| u64::try_from(step).is_ok_and(|s| s <= l));
    let mut replayed = false;
    for step in center - skew..=center + skew {
        if matches(secret, p, code, step) {
            if used(step) {
                replayed = true;
                continue;
            }
            return Check::Accepted {
                step: step.unsigned_abs(),
            };
        }
    }
    if replayed {
        return Check::Replayed;
    }
    for step in server - RESYNC_STEPS..=server + RESYNC_STEPS {
        if (center - skew..=center + skew).contains(&step) || used(step) {
            continue;
        }
        if matches(secret, p, code, step) {
            return Check::NearMiss {
                step: step.unsigned_abs(),
                offset: step - server,
            };
        }
    }
    Check::Wrong
}

/// Two consecutive codes typed from a device (a token being claimed): the
/// step of the second one and the device's drift, when they follow each
/// other within `RESYNC_STEPS` of the server's time.
pub fn consecutive(
    secret: &[u8],
    p: &Params,
    first: &str,
    second: &str,
    now: UnixTime,
) -> Option<(u64, i64)> {
    let server = i64::try_from(p.step(now)).ok()?;
    (server - RESYNC_STEPS..=server + RESYNC_STEPS)
        .find(|&s| matches(secret, p, first, s) && matches(secret, p, second, s + 1))
        .map(|s| ((s + 1).unsigned_abs(), s + 1 - server))
}

/// The code after a near miss at `pending_step`: when it is the device's very
/// next code, returns that step and the drift to keep from now on.
pub fn resync(
    secret: &[u8],
    p: &Params,
    code: &str,
    now: UnixTime,
    pending_step: u64,
) -> Option<(u64, i64)> {
    let next = pending_step.checked_add(1)?;
    let next_i = i64::try_from(next).ok()?;
    if !matches(secret, p, code, next_i) {
        return None;
    }
    let server = i64::try_from(p.step(now)).ok()?;
    let drift = next_i - server;
    (drift.abs() <= RESYNC_STEPS + 1).then_some((next, drift))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::totp::code_at;

    const SEED: &[u8] = b"12345678901234567890";

    fn t(secs: i64) -> UnixTime {
        UnixTime::from_secs(secs)
    }

    #[test]
    fn a_token_four_minutes_fast_is_a_near_miss_then_resynchronised() {
        let now = t(1_700_000_015);
        let fast = now + 240;
        let first = code_at(SEED, fast);
        let Check::NearMiss { step, offset } = check(SEED, &Params::STANDARD, &first, now, 0, None)
        else {
            panic!("a code 8 steps ahead is a near miss");
        };
        assert_eq!(offset, 8);
        // The device's next code, typed 20 s later.
        let later = now + 20;
        let next = code_at(SEED, fast + 30);
        let (accepted, drift) =
            resync(SEED, &Params::STANDARD, &next, later, step).expect("consecutive codes agree");
        assert_eq!((accepted, drift), (step + 1, 9));
        // A code two steps on is not "the next one".
        assert_eq!(
            resync(
                SEED,
                &Params::STANDARD,
                &code_at(SEED, fast + 60),
                later,
                step
            ),
            None
        );
        // From now on the token is accepted at its drift, and not replayed.
        let afterwards = later + 60;
        let code = code_at(SEED, afterwards + 270);
        assert!(matches!(
            check(
                SEED,
                &Params::STANDARD,
                &code,
                afterwards,
                drift,
                Some(accepted)
            ),
            Check::Accepted { .. }
        ));
        assert_eq!(
            check(SEED, &Params::STANDARD, &next, later, drift, Some(accepted)),
            Check::Replayed
        );
    }

    #[test]
    fn far_codes_and_used_steps_are_simply_wrong() {
        let now = t(1_700_000_015);
        assert_eq!(
            check(
                SEED,
                &Params::STANDARD,
                &code_at(SEED, now + 330),
                now,
                0,
                None
            ),
            Check::Wrong
        );
        assert_eq!(
            check(
                SEED,
                &Params::STANDARD,
                &code_at(SEED, now - 330),
                now,
                0,
                None
            ),
            Check::Wrong
        );
        let old = code_at(SEED, now - 120);
        let old_step = crate::totp::step_of(now - 120);
        assert_eq!(
            check(SEED, &Params::STANDARD, &old, now, 0, Some(old_step)),
            Check::Wrong
        );
        assert!(matches!(
            check(SEED, &Params::STANDARD, &old, now, 0, None),
            Check::NearMiss { offset: -4, .. }
        ));
        assert!(matches!(
            check(SEED, &Params::STANDARD, &code_at(SEED, now), now, 0, None),
            Check::Accepted { .. }
        ));
    }
}

#[cfg(test)]
mod token_tests {
    use super::*;
    use crate::totp::{Hash, Params};

    #[test]
    fn two_consecutive_codes_of_an_eight_digit_sha256_token_find_its_step_and_drift() {
        let p = Params {
            hash: Hash::Sha256,
            digits: 8,
            period: 60,
        };
        let secret = b"12345678901234567890123456789012";
        let now = UnixTime::from_secs(1_700_000_000);
        let device = p.step(now) + 3;
        let (a, b) = (p.code(secret, device), p.code(secret, device + 1));
        assert_eq!(a.len(), 8);
        assert_eq!(consecutive(secret, &p, &a, &b, now), Some((device + 1, 4)));
        assert_eq!(consecutive(secret, &p, &b, &a, now), None, "out of order");
        assert!(matches!(
            check(secret, &p, &p.code_at(secret, now), now, 0, None),
            Check::Accepted { .. }
        ));
        assert_eq!(
            check(
                secret,
                &p,
                &Params::STANDARD.code_at(secret, now),
                now,
                0,
                None
            ),
            Check::Wrong
        );
    }
}
