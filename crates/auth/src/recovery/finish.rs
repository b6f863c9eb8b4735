//! The end of a self-service recovery: once the wait is over, a fresh
//! mailed link in the browser that gave the password removes the old second
//! factors; until then, a reminder every day.

use twostep_store::recovery_requests::{self as requests, Outcome};
use twostep_store::users;

use super::Recovery;
use crate::error::utc;
use crate::links::mailed::{self as links, Holder, Purpose};
use crate::notify::Event;
use crate::recovery::self_service::{half_signed_in, not_mailed_lately, LINK_TTL, REMIND_EVERY};
use crate::{commit, AuthError, AuthService, Ctx, Result, SessionInfo};

impl AuthService {
    /// Daily reminders for open requests (run by the housekeeping task).
    pub(crate) async fn remind_recoveries(&self) -> Result<u64> {
        let now = self.now();
        let mut c = self.store().conn().await?;
        let due = requests::due_reminders(&mut c, now - REMIND_EVERY).await?;
        drop(c);
        let ctx = Ctx::new(crate::Channel::Cli, "server");
        let mut sent = 0;
        for r in due {
            let mut tx = self.store().begin().await?;
            let user = self.user_in(&mut tx, &r.user_id).await?;
            requests::reminded(&mut tx, &r.id, now).await?;
            self.audit(&mut tx, &user.id, now, Event::RecoveryReminded, "", &ctx)
                .await?;
            commit(tx).await?;
            let what = format!(
                "Reminder: a request to recover your account without its second factors is under way. \
                 It is ready on {} UTC. If it is NOT you, cancel it now:\n{}",
                utc(r.ready_at),
                self.cancel_link(&r.id)
            );
            self.notify(&user, "Account recovery under way", &what, &ctx)
                .await;
            sent += 1;
        }
        Ok(sent)
    }
}

impl Recovery<'_> {
    /// Once the wait is over: mails the link that finishes the recovery, to
    /// the session that just gave the password.
    pub async fn mail_finish_link(&self, session: &SessionInfo, ctx: &Ctx) -> Result<String> {
        self.self_service_allowed()?;
        half_signed_in(session)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let user = self.user_in(&mut tx, &session.user.id).await?;
        let r = requests::open_for(&mut tx, &user.id)
            .await?
            .ok_or_else(|| AuthError::Conflict("No account recovery is under way.".into()))?;
        if now < r.ready_at {
            return Err(AuthError::Conflict(format!(
                "Your recovery request is ready on {} UTC. Sign in again after that time.",
                utc(r.ready_at)
            )));
        }
        not_mailed_lately(&mut tx, &user.id, Purpose::FinishRecovery, now).await?;
        let link = self
            .new_link(
                &mut tx,
                &user.id,
                Purpose::FinishRecovery,
                &r.id,
                now,
                LINK_TTL,
            )
            .await?;
        self.audit(
            &mut tx,
            &user.id,
            now,
            Event::RecoveryMailSent,
            "to finish",
            ctx,
        )
        .await?;
        commit(tx).await?;
        self.send_link_mail(
            &user.email,
            &user.username,
            "Finish recovering your account",
            &format!(
                "Your recovery request is ready. Open this link within one hour, in the browser where \
                 you just entered your password:\n\n{link}\n\n\
                 It removes your old authenticators, security keys and recovery codes, signs out every \
                 other session, revokes your app passwords, and takes you to setting up a new authenticator.\n\
                 If this was not you, cancel it now: {}",
                self.cancel_link(&r.id)
            ),
        )
        .await?;
        Ok(user.email)
    }

    /// Follows the finishing link in the half-signed-in session: the old
    /// factors go, two-step is off until a new authenticator is set up, and
    /// the session becomes a full one (the returned token).
    pub async fn finish_recovery(
        &self,
        session: &SessionInfo,
        raw_token: &str,
        ctx: &Ctx,
    ) -> Result<(String, crate::Account)> {
        self.self_service_allowed()?;
        half_signed_in(session)?;
        let old_hash = session.token_hash().ok_or(AuthError::SignInRequired)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let t = links::redeem(
            &mut tx,
            raw_token,
            Purpose::FinishRecovery,
            Holder::Account(&session.user.id),
            now,
        )
        .await?;
        users::lock_row(&mut tx, &t.user_id).await?;
        let r = requests::get(&mut tx, &t.subject)
            .await?
            .filter(|r| r.user_id == t.user_id && now >= r.ready_at)
            .ok_or(AuthError::LinkInvalid)?;
        if !requests::end(
            &mut tx,
            &r,
            Outcome::Completed,
            "password and mailed link",
            now,
        )
        .await?
        {
            return Err(AuthError::LinkInvalid);
        }
        let user = self.user_in(&mut tx, &t.user_id).await?;
        crate::admin::reset::remove_second_factors(&mut tx, &user, now).await?;
        let fresh = self
            .complete_second_step(&mut tx, old_hash, &user, "account recovery", now, ctx)
            .await?;
        self.audit(&mut tx, &user.id, now, Event::RecoveryCompleted, "", ctx)
            .await?;
        commit(tx).await?;
        self.notify(
            &user,
            "Your account was recovered",
            "Your account was recovered without its second factors: the old authenticators, security keys, \
             recovery codes and app passwords were removed, and every other session was signed out. \
             Two-step verification is off until you set up a new authenticator. \
             If this was not you, reset your password at once and contact the site's administrator.",
            ctx,
        )
        .await;
        let account = self.accounts().user(&user.id).await?;
        Ok((fresh, account))
    }
}
