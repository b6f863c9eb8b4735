//! The one second-factor check, with replay protection and the lockout, used
//! by sign-in and by every action that needs a fresh second factor.

use twostep_core::code::{parse_second_factor, SecondFactorInput};
use twostep_core::lockout::{self, LockState};
use twostep_core::{recovery, token, totp};
use twostep_store::{authenticators, failures, recovery_codes, users, Conn, Tx};

use crate::error::utc;
use crate::notify::Event;
use crate::{commit, rng, AuthError, AuthService, Ctx, Result, User};

#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub(crate) enum FactorUsed {
    Totp { authenticator_id: String },
    RecoveryCode { remaining: i64 },
}

impl AuthService {
    /// Checks `raw` inside `tx`. `Ok(Err(refusal))`: the failure is written
    /// into `tx`, and the caller must hand both to `refuse`.
    pub(crate) async fn check_factor(
        &self,
        tx: &mut Conn,
        user_id: &str,
        raw: &str,
        now: i64,
        ctx: &Ctx,
    ) -> Result<std::result::Result<FactorUsed, AuthError>> {
        let user = users::by_id(tx, user_id)
            .await?
            .ok_or(AuthError::NotFound)?;
        if let Some(locked) = Self::lock_refusal(&user, now) {
            return Ok(Err(locked));
        }
        let input = parse_second_factor(raw)
            .map_err(|e| AuthError::invalid("malformed_code", "code", e.to_string()))?;
        let refusal = match input {
            SecondFactorInput::Totp(code) => match self.check_totp(tx, &user, &code, now).await? {
                Ok(id) => {
                    failures::clear(tx, &user.id).await?;
                    return Ok(Ok(FactorUsed::Totp {
                        authenticator_id: id,
                    }));
                }
                Err(r) => r.to_string(),
            },
            SecondFactorInput::Recovery(code) => {
                let hash = recovery::hash_normalised(&self.keys().pepper, &code);
                if recovery_codes::consume(tx, &user.id, &hash, now).await? {
                    failures::clear(tx, &user.id).await?;
                    let remaining = recovery_codes::remaining(tx, &user.id).await?;
                    self.audit(
                        tx,
                        &user.id,
                        now,
                        Event::RecoveryCodeUsed,
                        &format!("{remaining} left"),
                        ctx,
                    )
                    .await?;
                    return Ok(Ok(FactorUsed::RecoveryCode { remaining }));
                }
                "That recovery code is not valid, or it was used already. Each code works once."
                    .to_string()
            }
        };
        Ok(Err(self
            .count_failure(tx, &user.id, now, ctx, &refusal, Event::SecondFactorFailed)
            .await?))
    }

    /// Records one wrong factor (or a wrong password standing in for one),
    /// locks at the limit, and returns the refusal to show.
    pub(crate) async fn count_failure(
        &self,
        tx: &mut Conn,
        user_id: &str,
        now: i64,
        ctx: &Ctx,
        refusal: &str,
        event: Event,
    ) -> Result<AuthError> {
        let id = token::new_id(&mut rng());
        failures::record(tx, &id, user_id, now, ctx.channel.as_str()).await?;
        let since = lockout::window_start(now as u64) as i64;
        let count = failures::count_since(tx, user_id, since).await?;
        let count = u32::try_from(count).unwrap_or(u32::MAX);
        if let Some(until) = lockout::after_failure(count, now as u64) {
            let until = until as i64;
            users::set_locked_until(tx, user_id, Some(until)).await?;
            let detail = format!("until {} UTC", utc(until));
            self.audit(tx, user_id, now, Event::SecondStepLocked, &detail, ctx)
                .await?;
            return Ok(AuthError::Locked {
                until,
                until_utc: utc(until),
            });
        }
        self.audit(tx, user_id, now, event, "", ctx).await?;
        let remaining = lockout::remaining(count);
        Ok(AuthError::WrongSecondFactor {
            message: format!(
                "{refusal} ({remaining} attempts left before a {}-minute lock.)",
                lockout::LOCK_SECONDS / 60
            ),
            remaining,
        })
    }

    /// The refusal while the second step is locked, if it is.
    pub(crate) fn lock_refusal(user: &User, now: i64) -> Option<AuthError> {
        let locked_until = user.second_step_locked_until.map(|t| t as u64);
        match lockout::state(locked_until, now as u64) {
            LockState::Locked { until } => {
                let until = until as i64;
                Some(AuthError::Locked {
                    until,
                    until_utc: utc(until),
                })
            }
            LockState::Open => None,
        }
    }

    /// Opens the transaction of a security change once a fresh second factor
    /// holds: the code typed or, when none was typed, a security key confirmed
    /// in this session moments ago. A refusal is committed (counted) and returned.
    pub(crate) async fn begin_with_fresh_factor(
        &self,
        session: &crate::SessionInfo,
        user: &User,
        raw: &str,
        now: i64,
        ctx: &Ctx,
    ) -> Result<Tx> {
        let mut tx = self.store().begin().await?;
        if raw.trim().is_empty() && session.sudo_until.is_some_and(|u| u > now) {
            return Ok(tx);
        }
        match self.check_factor(&mut tx, &user.id, raw, now, ctx).await? {
            Ok(_) => Ok(tx),
            Err(refusal) => self.refuse(tx, user, refusal, ctx).await,
        }
    }

    /// Commits the recorded failure, mails on a lock, and returns the refusal.
    pub(crate) async fn refuse<T>(
        &self,
        tx: Tx,
        user: &User,
        refusal: AuthError,
        ctx: &Ctx,
    ) -> Result<T> {
        commit(tx).await?;
        self.mail_if_locked(user, &refusal, ctx).await;
        Err(refusal)
    }

    /// A wrong account password, counted with wrong codes so that passwords
    /// cannot be guessed freely on any channel. Commits `tx`.
    pub(crate) async fn wrong_password(
        &self,
        mut tx: Tx,
        user: &User,
        now: i64,
        ctx: &Ctx,
    ) -> Result<AuthError> {
        let refusal = self
            .count_failure(
                &mut tx,
                &user.id,
                now,
                ctx,
                "Wrong password.",
                Event::SignInFailed,
            )
            .await?;
        commit(tx).await?;
        self.mail_if_locked(user, &refusal, ctx).await;
        Ok(match refusal {
            AuthError::Locked { .. } => refusal,
            _ => AuthError::BadCredentials,
        })
    }

    /// Tells the owner when failures just locked the account.
    pub(crate) async fn mail_if_locked(&self, user: &User, refusal: &AuthError, ctx: &Ctx) {
        if let AuthError::Locked { until_utc, .. } = refusal {
            let what = format!(
                "Too many wrong codes or passwords were entered for your account, so sign-in is locked until {until_utc} UTC."
            );
            self.notify(user, "Two-step sign-in locked", &what, ctx)
                .await;
        }
    }

    async fn check_totp(
        &self,
        tx: &mut Conn,
        user: &User,
        code: &str,
        now: i64,
    ) -> Result<std::result::Result<String, totp::TotpRejection>> {
        let mut outcome = Err(totp::TotpRejection::Wrong);
        for a in authenticators::for_user(tx, &user.id).await? {
            if a.status != authenticators::ACTIVE {
                continue;
            }
            let secret = self.open_secret(&a)?;
            match totp::verify(&secret, code, now as u64, a.last_step.map(|s| s as u64)) {
                Ok(step) => {
                    // The conditional update is what makes "once" hold across nodes.
                    if authenticators::advance_step(tx, &a.id, step as i64, now).await? {
                        return Ok(Ok(a.id));
                    }
                    outcome = Err(totp::TotpRejection::Replayed);
                }
                Err(totp::TotpRejection::Replayed) => outcome = Err(totp::TotpRejection::Replayed),
                Err(totp::TotpRejection::Wrong) => {}
            }
        }
        Ok(outcome)
    }

    pub(crate) fn open_secret(&self, a: &authenticators::Authenticator) -> Result<Vec<u8>> {
        self.keys()
            .open(&a.secret_enc, a.id.as_bytes())
            .map_err(|e| AuthError::Internal(format!("authenticator {}: {e}", a.id)))
    }
}
