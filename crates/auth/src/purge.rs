//! Housekeeping: what no decision reads any more is deleted, every few
//! minutes by a background task of `serve` (any node may run it).

use twostep_core::lockout;
use twostep_store::{failures, login_failures, security_keys, sessions};

use crate::{commit, AuthService, Result};

/// Rows deleted by one `purge`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    pub sessions: u64,
    pub links: u64,
    pub failures: u64,
    pub ceremonies: u64,
    /// Reminders mailed for recovery requests under way.
    pub reminders: u64,
}

/// How long the wrong-password count of a login that names no account is
/// kept after its last attempt (a real account's lasts until a right one).
const UNKNOWN_LOGIN_KEPT: i64 = 90 * 24 * 3600;

impl AuthService {
    /// Deletes ended sessions (past their limit or idle), expired links and
    /// security-key ceremonies, and failures older than every window; mails
    /// the daily reminders of recovery requests under way.
    pub async fn purge(&self) -> Result<Purged> {
        let now = self.now();
        let before_window = lockout::window_start(now);
        let mut tx = self.store().begin().await?;
        let purged = Purged {
            sessions: sessions::delete_expired(&mut tx, now, now - self.settings().sessions.idle)
                .await?,
            links: crate::links::mailed::purge(&mut tx, now).await?
                + twostep_store::signups::delete_expired(&mut tx, now).await?,
            failures: failures::delete_before(&mut tx, before_window).await?
                + login_failures::delete_before(&mut tx, before_window).await?
                + login_failures::delete_unknown_idle(&mut tx, now - UNKNOWN_LOGIN_KEPT).await?
                + twostep_store::throttles::delete_before(&mut tx, now - 3600).await?,
            ceremonies: security_keys::delete_expired_states(&mut tx, now).await?
                + twostep_store::ceremonies::delete_expired(&mut tx, now).await?
                + twostep_store::oauth::delete_expired(&mut tx, now).await?,
            reminders: 0,
        };
        commit(tx).await?;
        Ok(Purged {
            reminders: self.remind_recoveries().await? + self.remind_expiries().await?,
            ..purged
        })
    }

    /// Mails the owners of app passwords and OAuth grants that expire
    /// within a week, once each (the first node to mark one mails it).
    async fn remind_expiries(&self) -> Result<u64> {
        let now = self.now();
        let by = now + EXPIRY_REMINDER;
        let mut c = self.store().conn().await?;
        let passwords = twostep_store::app_passwords::due_reminders(&mut c, now, by).await?;
        let grants = twostep_store::oauth::due_grant_reminders(&mut c, now, by).await?;
        drop(c);
        let mut sent = 0;
        let ctx = crate::Ctx::new(crate::Channel::Cli, "housekeeping");
        for p in passwords {
            let mut tx = self.store().begin().await?;
            let mine = twostep_store::app_passwords::mark_reminded(&mut tx, &p.id, now).await?;
            commit(tx).await?;
            if mine {
                let what = format!(
                    "Your app password \"{}\" expires on {} UTC. Tools using it will then be refused: \
                     create a new one before, at {}, and put it in their place.",
                    p.label,
                    crate::utc(p.expires_at),
                    self.link("/account/app-passwords")
                );
                self.remind(&p.user_id, "An app password expires in a week", &what, &ctx)
                    .await;
                sent += 1;
            }
        }
        for (g, app) in grants {
            let mut tx = self.store().begin().await?;
            let mine = twostep_store::oauth::mark_grant_reminded(&mut tx, &g.id, now).await?;
            commit(tx).await?;
            if mine {
                let what = format!(
                    "The access you gave to the application {app} expires on {} UTC. \
                     To go on using it, authorise it again then (it will ask you).",
                    crate::utc(g.expires_at)
                );
                self.remind(
                    &g.user_id,
                    "An application's access expires in a week",
                    &what,
                    &ctx,
                )
                .await;
                sent += 1;
            }
        }
        Ok(sent)
    }

    async fn remind(
        &self,
        user_id: &twostep_core::UserId,
        subject: &str,
        what: &str,
        ctx: &crate::Ctx,
    ) {
        match self.user_row(user_id).await {
            Ok(user) => self.notify(&user, subject, what, ctx).await,
            Err(e) => tracing::error!(error = %e, "no reminder: the account is not readable"),
        }
    }
}

/// How long before an expiry the owner is mailed.
const EXPIRY_REMINDER: i64 = 7 * 86400;
