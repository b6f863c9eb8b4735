use crate::routes::{Routes, Surface};
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use twostep_auth::Action;

use super::{render, Page};
use crate::csrf::Csrf;
use crate::session::MaybeSignedIn;
use crate::{AppState, Error};

pub fn routes() -> Routes {
    Routes::new(Surface::Page).get("/help/recovery", Action::ReadPublic, recovery)
}

#[derive(Template)]
#[template(path = "help_recovery.html")]
struct RecoveryHelp {
    page: Page,
    ssh_hint: String,
    wait: String,
    wait_with_proof: String,
}

/// "72 hours", "90 minutes", "4 seconds": how long a wait is, in words.
fn span(secs: i64) -> String {
    let (n, unit) = if secs % 3600 == 0 && secs >= 3600 {
        (secs / 3600, "hour")
    } else if secs % 60 == 0 && secs >= 60 {
        (secs / 60, "minute")
    } else {
        (secs, "second")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

async fn recovery(
    State(state): State<AppState>,
    MaybeSignedIn(s): MaybeSignedIn,
    csrf: Csrf,
) -> Result<Response, Error> {
    render(&RecoveryHelp {
        page: Page::new(&state, s.as_ref(), &csrf),
        ssh_hint: state.auth.settings().ssh_hint.clone(),
        wait: span(state.auth.settings().recovery_wait),
        wait_with_proof: span(state.auth.settings().recovery_wait_with_proof),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn waits_read_in_words() {
        assert_eq!(super::span(72 * 3600), "72 hours");
        assert_eq!(super::span(3600), "1 hour");
        assert_eq!(super::span(90 * 60), "90 minutes");
        assert_eq!(super::span(4), "4 seconds");
    }
}
