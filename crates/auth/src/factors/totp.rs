//! A TOTP code against every active authenticator of an account: each at its
//! own drift, each with its own replay guard, and the resynchronisation of a
//! device whose clock has wandered (two consecutive codes).

use twostep_core::drift::{self, Check};
use twostep_core::totp::{Hash, Params};
use twostep_core::UnixTime;
use twostep_store::users::User;
use twostep_store::{authenticators, Conn};

use crate::{AuthService, Failure, Result};

pub(crate) enum TotpOutcome {
    Accepted {
        authenticator_id: String,
        /// The new drift, when this code finished a resynchronisation.
        resynchronised: Option<i64>,
    },
    Replayed,
    /// Close to a device's time but outside its window: its next code is awaited.
    NearMiss {
        offset_steps: i64,
    },
    Wrong,
}

/// What the person is told after a near miss (the code still counts as wrong).
pub(crate) fn near_miss_text(offset_steps: i64) -> String {
    let seconds = offset_steps.unsigned_abs() * 30;
    let how_far = if seconds >= 60 {
        format!("about {} minutes", (seconds + 30) / 60)
    } else {
        format!("{seconds} seconds")
    };
    let direction = if offset_steps > 0 {
        "ahead of"
    } else {
        "behind"
    };
    format!(
        "That code is from a device whose clock is {how_far} {direction} the server's. \
         To resynchronise it, wait for the device to show its next code and enter that one."
    )
}

/// How the authenticator's device makes codes (apps: SHA-1, 6 digits, 30 s).
pub(crate) fn params_of(a: &authenticators::Authenticator) -> Result<Params> {
    stored_params(&a.hash, a.digits, a.period)
}

/// Code parameters as stored; a value this version does not know is an
/// error, never a guess (a wrong guess would refuse every right code).
pub(crate) fn stored_params(hash: &str, digits: i64, period: i64) -> Result<Params> {
    let unknown = |what: &'static str, value: String| Failure::Stored { what, value };
    Ok(Params {
        hash: Hash::parse(hash).ok_or_else(|| unknown("TOTP hash", hash.to_string()))?,
        digits: usize::try_from(digits)
            .ok()
            .filter(|d| matches!(d, 6..=8))
            .ok_or_else(|| unknown("TOTP digits", digits.to_string()))?,
        period: u64::try_from(period)
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| unknown("TOTP period", period.to_string()))?,
    })
}

fn to_step(s: i64) -> Option<u64> {
    u64::try_from(s).ok()
}

fn to_column(step: u64) -> i64 {
    i64::try_from(step).unwrap_or(i64::MAX)
}

impl AuthService {
    pub(crate) async fn check_totp(
        &self,
        tx: &mut Conn,
        user: &User,
        code: &str,
        now: UnixTime,
    ) -> Result<TotpOutcome> {
        let mut replayed = false;
        let mut near_miss = None;
        for a in authenticators::for_user(tx, &user.id).await? {
            if a.status != authenticators::Status::Active {
                continue;
            }
            let secret = self.open_secret(&a)?;
            let params = params_of(&a)?;
            let awaited = a.resync_step.and_then(to_step).filter(|_| {
                a.resync_at
                    .is_some_and(|at| now - at < drift::RESYNC_SECONDS)
            });
            if let Some(pending) = awaited {
                if let Some((step, new_drift)) = drift::resync(&secret, &params, code, now, pending)
                {
                    // The conditional update is what makes "once" hold across nodes.
                    if authenticators::advance_step(
                        tx,
                        &a.id,
                        to_column(step),
                        Some(new_drift),
                        now,
                    )
                    .await?
                    {
                        return Ok(TotpOutcome::Accepted {
                            authenticator_id: a.id,
                            resynchronised: Some(new_drift),
                        });
                    }
                    replayed = true;
                    continue;
                }
            }
            match drift::check(
                &secret,
                &params,
                code,
                now,
                a.drift,
                a.last_step.and_then(to_step),
            ) {
                Check::Accepted { step } => {
                    if authenticators::advance_step(tx, &a.id, to_column(step), None, now).await? {
                        return Ok(TotpOutcome::Accepted {
                            authenticator_id: a.id,
                            resynchronised: None,
                        });
                    }
                    replayed = true;
                }
                Check::Replayed => replayed = true,
                Check::NearMiss { step, offset } => near_miss = Some((a.id, step, offset)),
                Check::Wrong => {}
            }
        }
        if replayed {
            return Ok(TotpOutcome::Replayed);
        }
        if let Some((id, step, offset)) = near_miss {
            authenticators::await_next_code(tx, &id, to_column(step), now).await?;
            return Ok(TotpOutcome::NearMiss {
                offset_steps: offset,
            });
        }
        Ok(TotpOutcome::Wrong)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_parameters_are_read_or_refused_never_guessed() {
        let p = stored_params("sha256", 8, 60).unwrap();
        assert_eq!((p.hash, p.digits, p.period), (Hash::Sha256, 8, 60));
        for (hash, digits, period) in [("md5", 6, 30), ("", 6, 30), ("sha1", 5, 30), ("sha1", 6, 0)]
        {
            let e = stored_params(hash, digits, period).unwrap_err();
            assert!(
                matches!(e, crate::AuthError::Internal(Failure::Stored { .. })),
                "{hash} {digits} {period}: {e:?}"
            );
        }
    }
}
