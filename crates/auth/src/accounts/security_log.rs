use super::Accounts;
use twostep_core::{UnixTime, UserId};
use twostep_store::security_log;

use crate::Result;

/// One line of an account's security log.
#[derive(Debug, Clone)]
pub struct LogEntry {
    pub at: UnixTime,
    /// The event's name, e.g. `two_step.enabled`.
    pub event: String,
    /// The event in words, e.g. "Two-step verification turned on".
    pub what: &'static str,
    pub detail: String,
    pub channel: String,
    pub ip: String,
}

/// Human text for an event name.
pub fn describe_event(event: &str) -> &'static str {
    crate::notify::describe(event)
}

impl Accounts<'_> {
    /// Newest first.
    pub async fn security_log(&self, user_id: &UserId, limit: i64) -> Result<Vec<LogEntry>> {
        let mut c = self.store().conn().await?;
        let rows = security_log::recent(&mut c, user_id, limit.clamp(1, 500)).await?;
        Ok(rows
            .into_iter()
            .map(|e| LogEntry {
                at: e.at,
                what: describe_event(&e.event),
                event: e.event,
                detail: e.detail,
                channel: e.channel,
                ip: e.ip,
            })
            .collect())
    }
}
