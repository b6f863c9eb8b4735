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
            links: crate::links::mailed::purge(&mut tx, now).await?,
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
            reminders: self.remind_recoveries().await?,
            ..purged
        })
    }
}
