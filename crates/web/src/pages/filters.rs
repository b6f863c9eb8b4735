//! Filters the page templates use: `{{ key.created_at|utc }}`.

use twostep_auth::UnixTime;

/// A time as the pages show it, in UTC.
pub fn utc(t: &UnixTime, _: &dyn askama::Values) -> askama::Result<String> {
    Ok(twostep_auth::utc(*t))
}

/// An optional time, or "never".
pub fn utc_or_never(t: &Option<UnixTime>, _: &dyn askama::Values) -> askama::Result<String> {
    Ok(t.map_or_else(|| "never".to_string(), twostep_auth::utc))
}
