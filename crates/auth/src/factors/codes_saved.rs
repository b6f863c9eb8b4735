//! Proof that a new list of recovery codes was saved (one code, picked by
//! the server, typed back; it stays usable), and the mails that say the list
//! is running out.

use twostep_core::code::{parse_second_factor, SecondFactorInput};
use twostep_store::users::User;
use twostep_store::{recovery_codes, users};

use super::Factors;
use crate::gate::Action;
use crate::notify::Event;
use crate::signin::sudo::Proof;
use crate::{commit, AuthError, AuthService, Ctx, Result, SessionInfo};
use twostep_core::words::count;

/// At this many unused codes (and at none) the owner is mailed.
const LOW_CODES: i64 = 2;

impl AuthService {
    /// After a recovery code was used: the mail says how many are left, and
    /// warns (with the way to new ones) when the list runs low or out.
    pub(crate) async fn recovery_code_used_mail(
        &self,
        user: &User,
        what: &str,
        remaining: i64,
        ctx: &Ctx,
    ) {
        let new_codes = self.link("/account/two-step/recovery-codes");
        let ssh = &self.settings().ssh_hint;
        let (subject, text) = match remaining {
            0 => (
                "You used your last recovery code".to_string(),
                format!(
                    "{what} It was your last recovery code. Make new ones now, so that losing your phone does not lock you out:\n{new_codes}\n\nor over SSH: {ssh} recovery_codes"
                ),
            ),
            n if n <= LOW_CODES => (
                format!("Only {} left", count(n, "recovery code")),
                format!(
                    "{what} Only {} {} Make new ones:\n{new_codes}\n\nor over SSH: {ssh} recovery_codes",
                    count(n, "unused recovery code"),
                    if n == 1 { "remains." } else { "remain." }
                ),
            ),
            n => (
                "A recovery code was used".to_string(),
                format!(
                    "{what} {} {}; make new ones from {new_codes} if you are running low.",
                    count(n, "unused code"),
                    if n == 1 { "remains" } else { "remain" }
                ),
            ),
        };
        self.notify(user, &subject, &text, ctx).await;
    }
}

impl Factors<'_> {
    /// Checks the code typed back from the saved list. A wrong one counts
    /// like a wrong code (a stolen session must not guess codes here).
    pub async fn confirm_codes_saved(
        &self,
        session: &SessionInfo,
        code: &str,
        ctx: &Ctx,
    ) -> Result<()> {
        self.allowed(Action::SetUpTwoStep, session, &Proof::None, None)
            .await?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let user = match self
            .second_step_gate(&mut tx, &session.user.id, now)
            .await?
        {
            Ok(user) => user,
            Err(refusal) => return self.refuse(tx, &session.user, refusal, ctx).await,
        };
        let Some(position) = user.two_step_enabled_at.and(user.codes_check_position) else {
            return Err(AuthError::Conflict(
                "There is no new list of recovery codes to confirm.".into(),
            ));
        };
        let typed = match parse_second_factor(code) {
            Ok(SecondFactorInput::Recovery(c)) => Some(c),
            _ => None,
        };
        let expected = recovery_codes::hash_at(&mut tx, &user.id, position).await?;
        let right = match (typed, expected) {
            (Some(t), Some(e)) => self.recovery_code_matches(&t, &e).await?,
            _ => false,
        };
        if !right {
            let refusal = self
                .count_failure(
                    &mut tx,
                    &user,
                    now,
                    ctx,
                    &format!("That is not code number {position} of your new list."),
                )
                .await?;
            return self.refuse(tx, &user, refusal, ctx).await;
        }
        users::set_codes_check(&mut tx, &user.id, None).await?;
        self.audit(&mut tx, &user.id, now, Event::RecoveryCodesSaved, "", ctx)
            .await?;
        commit(tx).await
    }
}
