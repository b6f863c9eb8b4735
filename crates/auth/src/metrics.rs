//! What the server counts for Prometheus (`--metrics-addr`): the names live
//! here, so every channel records the same series. Recording is a no-op when
//! no exporter is installed (tests of the library, `twostep admin`).

use std::time::Instant;

use crate::{AuthError, Channel, Result, SignInOutcome};

pub const SIGNINS: &str = "twostep_signins_total";
pub const SECURITY_EVENTS: &str = "twostep_security_events_total";
pub const GIT_OPERATIONS: &str = "twostep_git_operations_total";
pub const GIT_DURATION: &str = "twostep_git_operation_duration_seconds";
pub const HASH_QUEUE: &str = "twostep_password_hash_queue_depth";
pub const HASH_BUSY: &str = "twostep_password_hash_busy_total";
pub const SSH_SESSIONS: &str = "twostep_ssh_sessions_open";
pub const HTTP_DURATION: &str = "twostep_http_request_duration_seconds";

/// Describes every series (HELP lines), once at start.
pub fn describe() {
    ::metrics::describe_counter!(
        SIGNINS,
        "Sign-in steps by channel, step (password, second_step) and result"
    );
    ::metrics::describe_counter!(
        SECURITY_EVENTS,
        "Security events written to the security log, by event (second_factor.failed, second_step.locked, recovery.started ...)"
    );
    ::metrics::describe_counter!(
        GIT_OPERATIONS,
        "Git operations by transport (ssh, https), service and result"
    );
    ::metrics::describe_histogram!(
        GIT_DURATION,
        ::metrics::Unit::Seconds,
        "Duration of git operations by transport and service"
    );
    ::metrics::describe_gauge!(HASH_QUEUE, "Password hashes waiting for a hashing slot");
    ::metrics::describe_counter!(
        HASH_BUSY,
        "Password checks refused because the hash queue was full for too long"
    );
    ::metrics::describe_gauge!(SSH_SESSIONS, "Open SSH connections");
    ::metrics::describe_histogram!(
        HTTP_DURATION,
        ::metrics::Unit::Seconds,
        "Time from an HTTP request to its answer's head, by surface (pages, api, oauth, git, health) and status class"
    );
}

/// Buckets of the HTTP duration histogram, in seconds (a password check is
/// a few tens of milliseconds; a queue of them, seconds).
pub const HTTP_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Buckets of the git duration histogram, in seconds.
pub const GIT_BUCKETS: &[f64] = &[
    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

fn failure(e: &AuthError) -> &'static str {
    match e {
        AuthError::BadCredentials => "wrong_password",
        AuthError::WrongSecondFactor { .. } => "wrong_code",
        AuthError::Locked { .. } => "locked",
        AuthError::Frozen => "frozen",
        AuthError::Throttled { .. } => "throttled",
        AuthError::Busy => "busy",
        AuthError::Invalid { .. } => "invalid",
        AuthError::SignInRequired => "no_session",
        _ => "error",
    }
}

pub(crate) fn password_step(channel: Channel, r: &Result<SignInOutcome>) {
    let result = match r {
        Ok(SignInOutcome::SignedIn { .. }) => "signed_in",
        Ok(SignInOutcome::SecondStep { .. }) => "second_step_required",
        Err(e) => failure(e),
    };
    ::metrics::counter!(SIGNINS, "channel" => channel.as_str(), "step" => "password", "result" => result)
        .increment(1);
}

pub(crate) fn second_step<T>(channel: Channel, r: &Result<T>) {
    let result = match r {
        Ok(_) => "signed_in",
        Err(e) => failure(e),
    };
    ::metrics::counter!(SIGNINS, "channel" => channel.as_str(), "step" => "second_step", "result" => result)
        .increment(1);
}

pub(crate) fn passkey_step<T>(channel: Channel, r: &Result<T>) {
    let result = match r {
        Ok(_) => "signed_in",
        Err(e) => failure(e),
    };
    ::metrics::counter!(SIGNINS, "channel" => channel.as_str(), "step" => "passkey", "result" => result)
        .increment(1);
}

pub(crate) fn security_event(event: &'static str) {
    ::metrics::counter!(SECURITY_EVENTS, "event" => event).increment(1);
}

/// One git operation: counted with its duration when dropped.
pub(crate) struct GitTimer {
    transport: &'static str,
    service: &'static str,
    started: Instant,
    pub(crate) ok: bool,
}

impl GitTimer {
    pub(crate) fn start(transport: &'static str, service: &'static str) -> GitTimer {
        GitTimer {
            transport,
            service,
            started: Instant::now(),
            ok: false,
        }
    }
}

impl Drop for GitTimer {
    fn drop(&mut self) {
        let result = if self.ok { "ok" } else { "failed" };
        ::metrics::counter!(GIT_OPERATIONS, "transport" => self.transport, "service" => self.service, "result" => result)
            .increment(1);
        ::metrics::histogram!(GIT_DURATION, "transport" => self.transport, "service" => self.service)
            .record(self.started.elapsed().as_secs_f64());
    }
}
