//! Filters the page templates use: `{{ key.created_at|utc }}`.

use twostep_auth::{UnixTime, WorkspacePolicy};

/// A time as the pages show it, in UTC.
pub fn utc(t: &UnixTime, _: &dyn askama::Values) -> askama::Result<String> {
    Ok(twostep_auth::utc(*t))
}

/// An optional time, or "never".
pub fn utc_or_never(t: &Option<UnixTime>, _: &dyn askama::Values) -> askama::Result<String> {
    Ok(t.map_or_else(|| "never".to_string(), twostep_auth::utc))
}

/// A workspace's two-step policy in words: `{{ m.policy|policy }}`.
pub fn policy(p: &WorkspacePolicy, _: &dyn askama::Values) -> askama::Result<String> {
    Ok(policy_text(p))
}

pub(super) fn policy_text(p: &WorkspacePolicy) -> String {
    match p {
        WorkspacePolicy::Off => "not required".into(),
        WorkspacePolicy::Grace { until } => {
            format!(
                "required from {} UTC (grace period)",
                twostep_auth::utc(*until)
            )
        }
        WorkspacePolicy::Enforced { since } => {
            format!("required since {} UTC", twostep_auth::utc(*since))
        }
    }
}
