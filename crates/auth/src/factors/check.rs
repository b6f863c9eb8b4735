//! The one second-factor check, with replay protection and the lockout, used
//! by sign-in and by every action that needs a fresh second factor.

use twostep_core::code::{parse_second_factor, SecondFactorInput};
use twostep_core::lockout::{self, Failure, LockState};
use twostep_core::{recovery, token, totp};
use twostep_core::{UnixTime, UserId};
use twostep_store::{authenticators, failures, recovery_codes, users, Conn, Tx};

use super::Factors;
use crate::accounts::view::Addressee;
use crate::error::utc;
use crate::factors::totp::{near_miss_text, TotpOutcome};
use crate::links::mailed::{self as links, Holder, Purpose};
use crate::notify::Event;
use crate::{commit, rng, Account, AuthError, AuthService, Ctx, Result};
use twostep_store::users::User;

const UNLOCK_TTL: i64 = 7 * 24 * 3600;

#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub(crate) enum FactorUsed {
    Totp { authenticator_id: String },
    RecoveryCode { remaining: i64 },
}

/// A refused second factor. Its failure is written into the transaction
/// already; the only way to use it is `refuse`, which commits that and sends
/// the mail that is due.
#[must_use]
pub(crate) struct Refusal {
    error: AuthError,
    /// Only the failure that locks or freezes carries a mail, so it goes once.
    mail: Option<DueMail>,
}

enum DueMail {
    Locked,
    Frozen { unlock_link: String },
}

/// A typed recovery code, against the account's set.
enum CodeUse {
    /// Right and unused: used now.
    Used,
    /// Right, but used already (`at`, when known).
    UsedBefore {
        at: Option<UnixTime>,
    },
    Wrong,
}

/// At most one replay mail in this many seconds per account: the alarm
/// must not become a way to flood the owner's mailbox.
const REPLAY_MAIL_EVERY: i64 = 3600;

impl From<AuthError> for Refusal {
    fn from(error: AuthError) -> Self {
        Refusal { error, mail: None }
    }
}

#[must_use]
pub(crate) enum FactorCheck {
    Passed(FactorUsed),
    Refused(Refusal),
}

/// The account's second step as core reads it.
pub(crate) fn lock_state(user: &User, now: UnixTime) -> LockState {
    LockState::of(
        user.second_step_locked_until,
        user.second_step_frozen_at,
        now,
    )
}

pub(crate) fn locked(until: UnixTime) -> AuthError {
    AuthError::Locked {
        until,
        until_utc: utc(until),
    }
}

impl AuthService {
    /// Takes the account's row for this decision and reloads the user; a
    /// frozen or locked second step is refused before anything is read.
    pub(crate) async fn second_step_gate(
        &self,
        tx: &mut Conn,
        user_id: &UserId,
        now: UnixTime,
    ) -> Result<std::result::Result<User, Refusal>> {
        users::lock_row(tx, user_id).await?;
        let user = users::by_id(tx, user_id)
            .await?
            .ok_or(AuthError::NotFound)?;
        match lock_state(&user, now) {
            LockState::Frozen => Ok(Err(AuthError::Frozen.into())),
            LockState::Locked { until } => Ok(Err(locked(until).into())),
            LockState::Open => Ok(Ok(user)),
        }
    }

    /// A right second factor: the failure counts start again, and a recovery
    /// request under way is cancelled (the owner still has a factor).
    pub(crate) async fn factor_passed(
        &self,
        tx: &mut Conn,
        user: &User,
        now: UnixTime,
        ctx: &Ctx,
    ) -> Result<()> {
        failures::clear(tx, &user.id).await?;
        users::reset_factor_failures(tx, &user.id).await?;
        self.cancel_recovery_on_factor(tx, user, now, ctx).await
    }

    /// Checks `raw` (a TOTP code or a recovery code) inside `tx`, holding the
    /// account's row, so parallel guesses are counted one after the other.
    pub(crate) async fn check_factor(
        &self,
        tx: &mut Conn,
        user_id: &UserId,
        raw: &str,
        now: UnixTime,
        ctx: &Ctx,
    ) -> Result<FactorCheck> {
        let input = parse_second_factor(raw)
            .map_err(|e| AuthError::invalid("malformed_code", "code", e.to_string()))?;
        let user = match self.second_step_gate(tx, user_id, now).await? {
            Ok(u) => u,
            Err(refusal) => return Ok(FactorCheck::Refused(refusal)),
        };
        let refusal = match input {
            SecondFactorInput::Totp(code) => match self.check_totp(tx, &user, &code, now).await? {
                TotpOutcome::Accepted {
                    authenticator_id,
                    resynchronised,
                } => {
                    if let Some(drift) = resynchronised {
                        let detail = format!("drift {drift} steps");
                        self.audit(
                            tx,
                            &user.id,
                            now,
                            Event::AuthenticatorResynchronised,
                            &detail,
                            ctx,
                        )
                        .await?;
                    }
                    self.factor_passed(tx, &user, now, ctx).await?;
                    return Ok(FactorCheck::Passed(FactorUsed::Totp { authenticator_id }));
                }
                // Not counted (a double submit is no attack), but logged and
                // mailed: someone may have watched the code being typed.
                TotpOutcome::Replayed => {
                    self.replayed(tx, &user, "authenticator code", None, now, ctx)
                        .await?;
                    return Ok(FactorCheck::Refused(
                        AuthError::invalid(
                            "code_used",
                            "code",
                            totp::TotpRejection::Replayed.to_string(),
                        )
                        .into(),
                    ));
                }
                TotpOutcome::NearMiss { offset_steps } => near_miss_text(offset_steps),
                TotpOutcome::Wrong => totp::TotpRejection::Wrong.to_string(),
            },
            SecondFactorInput::Recovery(code) => {
                match self.use_recovery_code(tx, &user.id, &code, now).await? {
                    CodeUse::Used => {
                        self.factor_passed(tx, &user, now, ctx).await?;
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
                        return Ok(FactorCheck::Passed(FactorUsed::RecoveryCode { remaining }));
                    }
                    // Counted too: checking one costs an Argon2 hash, so
                    // replays must meet the lock like any wrong code.
                    CodeUse::UsedBefore { at } => {
                        self.replayed(tx, &user, "recovery code", at, now, ctx)
                            .await?;
                        "That recovery code was used already. Each code works once.".to_string()
                    }
                    CodeUse::Wrong => {
                        "That recovery code is not valid, or it was used already. Each code works once."
                            .to_string()
                    }
                }
            }
        };
        Ok(FactorCheck::Refused(
            self.count_failure(tx, &user, now, ctx, &refusal).await?,
        ))
    }

    /// Checks a recovery code (normalised) and uses it when right: the
    /// lookup picks the one row, whose Argon2id hash is checked (one hash,
    /// also when no row answers); a code of the earlier format is found by
    /// its keyed hash. The hash is computed holding the account's row, so
    /// parallel guesses are still counted one after the other: a recovery
    /// code comes after the password, and wrong ones lock the second step.
    async fn use_recovery_code(
        &self,
        tx: &mut Conn,
        user_id: &UserId,
        code: &str,
        now: UnixTime,
    ) -> Result<CodeUse> {
        match recovery::typed(code) {
            Some(recovery::Typed::Salted { lookup, code }) => {
                let found = recovery_codes::by_lookup(tx, user_id, lookup).await?;
                let stored = found.as_ref().map(|f| f.code_hash.as_str());
                let right = self.hasher().verify(code, stored).await?;
                let Some(found) = found.filter(|_| right) else {
                    return Ok(CodeUse::Wrong);
                };
                if recovery_codes::consume_id(tx, &found.id, now).await? {
                    Ok(CodeUse::Used)
                } else {
                    Ok(CodeUse::UsedBefore { at: found.used_at })
                }
            }
            Some(recovery::Typed::Legacy(code)) => {
                let hash = recovery::hash_normalised(&self.keys().pepper, code);
                if recovery_codes::consume(tx, user_id, &hash, now).await? {
                    Ok(CodeUse::Used)
                } else if recovery_codes::used_legacy(tx, user_id, &hash).await? {
                    Ok(CodeUse::UsedBefore { at: None })
                } else {
                    Ok(CodeUse::Wrong)
                }
            }
            None => Ok(CodeUse::Wrong),
        }
    }

    /// A right code that was used already, presented again: written to the
    /// security log and mailed to the owner (at most once an hour; the mail
    /// leaves from a task of its own).
    async fn replayed(
        &self,
        tx: &mut Conn,
        user: &User,
        kind: &str,
        used_at: Option<UnixTime>,
        now: UnixTime,
        ctx: &Ctx,
    ) -> Result<()> {
        let mailed_lately = twostep_store::security_log::count_since(
            tx,
            &user.id,
            Event::CodeReplayed.as_str(),
            now - REPLAY_MAIL_EVERY,
        )
        .await?
            > 0;
        self.audit(tx, &user.id, now, Event::CodeReplayed, kind, ctx)
            .await?;
        if mailed_lately {
            return Ok(());
        }
        let when = used_at.map_or_else(String::new, |at| {
            format!(" (it was used at {} UTC)", utc(at))
        });
        let what = format!(
            "A {kind} that had already been used{when} was entered again for your account. \
             Each code works once, so it was refused. If you typed the same code twice, there is \
             nothing to do. If not, someone may have seen or copied it: change your password, and \
             review your sessions:\n{}",
            self.link("/account/sessions")
        );
        self.notify_later(user, "A used code was entered again", what, ctx);
        Ok(())
    }

    /// Records one wrong second factor: locks at the window's limit, freezes
    /// at the in-a-row ceiling, and returns the refusal to show.
    pub(crate) async fn count_failure(
        &self,
        tx: &mut Conn,
        user: &User,
        now: UnixTime,
        ctx: &Ctx,
        refusal: &str,
    ) -> Result<Refusal> {
        let id = token::new_id(&mut rng());
        failures::record(tx, &id, &user.id, now, ctx.channel.as_str()).await?;
        let in_row = users::add_factor_failure(tx, &user.id).await?;
        let since = lockout::window_start(now);
        let count = failures::count_since(tx, &user.id, since).await?;
        let count = u32::try_from(count).unwrap_or(u32::MAX);
        let remaining = match lockout::after_failure(count, in_row, now) {
            Failure::Counted { remaining } => remaining,
            Failure::Freezes => {
                users::freeze_second_step(tx, &user.id, now).await?;
                let link = self
                    .new_link(tx, &user.id, Purpose::UnlockSecondStep, "", now, UNLOCK_TTL)
                    .await?;
                self.audit(tx, &user.id, now, Event::SecondStepFrozen, "", ctx)
                    .await?;
                return Ok(Refusal {
                    error: AuthError::Frozen,
                    mail: Some(DueMail::Frozen { unlock_link: link }),
                });
            }
            Failure::Locks { until } => {
                users::set_locked_until(tx, &user.id, Some(until)).await?;
                let detail = format!("until {} UTC", utc(until));
                self.audit(tx, &user.id, now, Event::SecondStepLocked, &detail, ctx)
                    .await?;
                return Ok(Refusal {
                    error: locked(until),
                    mail: Some(DueMail::Locked),
                });
            }
        };
        self.audit(tx, &user.id, now, Event::SecondFactorFailed, "", ctx)
            .await?;
        Ok(AuthError::WrongSecondFactor {
            message: format!(
                "{refusal} ({remaining} attempts left before a {}-minute lock.)",
                lockout::LOCK_SECONDS / 60
            ),
            remaining,
        }
        .into())
    }

    /// The refusal while the second step is locked for a while, frozen or
    /// not (a freeze alone is no refusal here: the owner's own SSH key and
    /// password may reopen it, once any lock has run out).
    pub(crate) fn lock_refusal(user: &User, now: UnixTime) -> Option<AuthError> {
        match LockState::of(user.second_step_locked_until, None, now) {
            LockState::Locked { until } => Some(locked(until)),
            LockState::Open | LockState::Frozen => None,
        }
    }

    /// Commits the recorded failure, sends the mail a lock or freeze calls
    /// for (once: only the failure that locks carries it), and returns the
    /// refusal.
    pub(crate) async fn refuse<T>(
        &self,
        tx: Tx,
        user: &impl Addressee,
        refusal: Refusal,
        ctx: &Ctx,
    ) -> Result<T> {
        commit(tx).await?;
        match (&refusal.error, &refusal.mail) {
            (_, Some(DueMail::Frozen { unlock_link: link })) => {
                let what = format!(
                    "{} wrong two-step codes in a row were entered for your account, so two-step sign-in is closed. \
                     Whoever did this knew your password: change it. To reopen sign-in, open this link (valid for {} hours):\n\n{link}",
                    lockout::FREEZE_AFTER,
                    UNLOCK_TTL / 3600
                );
                self.notify(
                    user,
                    "Two-step sign-in closed after 100 wrong codes",
                    &what,
                    ctx,
                )
                .await;
            }
            (AuthError::Locked { until_utc, .. }, Some(DueMail::Locked)) => {
                let what = format!(
                    "Too many wrong two-step codes were entered for your account, so the second step is locked until {until_utc} UTC. \
                     Whoever did this knew your password: change it. App passwords keep working."
                );
                self.notify(user, "Two-step sign-in locked", &what, ctx)
                    .await;
            }
            _ => {}
        }
        Err(refusal.error)
    }

    pub(crate) fn open_secret(&self, a: &authenticators::Authenticator) -> Result<Vec<u8>> {
        self.keys()
            .open(&a.secret_enc, a.id.as_bytes())
            .map_err(|e| crate::Failure::Sealed(format!("authenticator {}", a.id), e).into())
    }
}

impl Factors<'_> {
    /// Unlocks a frozen second step from the mailed link.
    pub async fn unlock_second_step(&self, raw_token: &str, ctx: &Ctx) -> Result<Account> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let t = links::redeem(
            &mut tx,
            raw_token,
            Purpose::UnlockSecondStep,
            Holder::Anyone,
            now,
        )
        .await?;
        users::lock_row(&mut tx, &t.user_id).await?;
        users::reset_factor_failures(&mut tx, &t.user_id).await?;
        failures::clear(&mut tx, &t.user_id).await?;
        self.audit(&mut tx, &t.user_id, now, Event::SecondStepUnlocked, "", ctx)
            .await?;
        commit(tx).await?;
        self.accounts().user(&t.user_id).await
    }
}
