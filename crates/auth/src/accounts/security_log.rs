use super::Accounts;
use twostep_core::UserId;
use twostep_store::security_log;

use crate::{LogEntry, Result};

/// Human text for an event name.
pub fn describe_event(event: &str) -> &'static str {
    crate::notify::describe(event)
}

impl Accounts<'_> {
    /// Newest first.
    pub async fn security_log(&self, user_id: &UserId, limit: i64) -> Result<Vec<LogEntry>> {
        let mut c = self.store().conn().await?;
        Ok(security_log::recent(&mut c, user_id, limit.clamp(1, 500)).await?)
    }
}
