//! The auth service: the one place every front-end (web pages, JSON API, SSH,
//! Git over HTTP) calls. Each decision reads the clock once, loads what it
//! needs, asks `twostep_core` what to do, then persists, audits and notifies
//! in one transaction.

/// A domain's service: the way in to one folder's decisions, borrowing the
/// one `AuthService` (its store, clock, mailer, hasher and gate) that every
/// domain shares. Front-ends call `auth.accounts().sign_up(…)`,
/// `auth.factors().begin_setup(…)`, and so on.
macro_rules! domain_service {
    ($(#[$doc:meta])* $name:ident, $accessor:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy)]
        pub struct $name<'a>(&'a crate::AuthService);

        impl std::ops::Deref for $name<'_> {
            type Target = crate::AuthService;
            fn deref(&self) -> &crate::AuthService {
                self.0
            }
        }

        impl crate::AuthService {
            $(#[$doc])*
            pub fn $accessor(&self) -> $name<'_> {
                $name(self)
            }
        }
    };
}
pub(crate) use domain_service;

mod accounts;
mod admin;
mod clock;
mod credentials;
mod error;
mod events;
mod factors;
mod gate;
mod hasher;
mod health;
mod links;
pub mod metrics;
mod notify;
mod oauth;
mod providers;
mod purge;
mod recovery;
mod repos;
mod signin;
mod workspaces;

use std::sync::Arc;

pub use accounts::security_log::LogEntry;
pub use accounts::sessions::SessionEntry;
pub use accounts::signup::{Confirmed, WEAK_PASSWORD};
pub use accounts::view::Account;
pub use accounts::Accounts;
pub use admin::reset::{ApprovalView, ResetOutcome};
pub use admin::users::{
    Actor, AdminUserView, AuditEntry, UserFilter, PAGE_SIZE as ADMIN_PAGE_SIZE,
};
pub use admin::Admin;
pub use clock::{Clock, SystemClock};
pub use credentials::app_passwords::{require_full_session, AppPasswordView};
pub use credentials::ssh_keys::SshKey;
pub use credentials::Credentials;
pub use error::{utc, AuthError, Failure};
pub use factors::devices::MAX_AUTHENTICATORS;
pub use factors::hardware_tokens::ImportReport;
pub use factors::security_keys::{Kind as KeyKind, Registered, SecurityKeyView};
pub use factors::two_step::{
    AuthenticatorSummary, SetupInfo, SetupPurpose, TwoStepStatus, VerifyOutcome,
};
pub use factors::Factors;
pub use gate::{Action, CallerKind, Callers, Need as ActionNeed, Refused};
pub use links::ssh_approval::{Approval, SSH_CONFIRM_TTL};
pub use links::Links;
pub use oauth::device::{normalise_user_code, DeviceStart};
pub use oauth::provider::{
    deny_authorize, AuthorizeError, AuthorizeRequest, AuthorizedApp, Consent, NewApp,
    RegisteredApp, TokenError, TokenRequest, Tokens, ACCESS_TTL,
};
pub use oauth::OAuth;
pub use providers::oidc::{LinkedProvider, OidcOutcome, OidcProvider, OidcTrip};
pub use providers::Providers;
pub use purge::Purged;
pub use recovery::codes_over_ssh::RECOVERY_CODES_REQUEST;
pub use recovery::password_over_ssh::PASSWORD_REQUEST;
pub use recovery::reset_review::{Credential, ResetReview};
pub use recovery::self_service::RecoveryStatus;
pub use recovery::{Recovery, SshProof};
pub use repos::check::RepoCheck;
pub use repos::git_access::{basic_kind, require_scope};
pub use repos::git_operations::GitOperation;
pub use repos::housekeeping::{after_push_detached, GIT_CONFIG_ENV};
pub use repos::repositories::{collaborator_access, RepoView};
pub use repos::Repos;
pub use signin::session::{Caller, SecondStepLock, SessionInfo, SignInOutcome, SshKeyUse};
pub use signin::ssh_key::KeySignIn;
pub use signin::sudo::Proof;
pub use signin::SignIn;
pub use twostep_core::app_password::Scope;
pub use twostep_core::policy::{Need, SetupChecklist};
pub use twostep_core::pskc::Unlock as PskcUnlock;
pub use twostep_core::recovery::RecoveryCode;
pub use twostep_core::repo::Access;
pub use twostep_core::secretbox::Keys;
pub use twostep_core::ssh_certificate::Certificate as SshCertificate;
pub use twostep_core::workspace::Policy as WorkspacePolicy;
pub use twostep_core::workspace::{Level as WorkspaceLevel, SshKeyRule};
pub use workspaces::members::{
    workspace_role, MemberView, MembershipView, WorkspaceRole, WorkspaceView,
};
pub use workspaces::policy::{level_text, parse_models, PolicyChange, WorkspaceDeadline};
pub use workspaces::ssh::{CaView, SshRules};
pub use workspaces::Workspaces;

pub use hasher::{Argon2Workers, Hashing, PasswordHasher};
pub use twostep_core::{UnixTime, UserId};
use twostep_mail::Deliver;
use twostep_store::Store;

pub type Result<T> = std::result::Result<T, AuthError>;

/// Where a request came from, for the security log and rate limits.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub channel: Channel,
    pub ip: String,
    /// The browser's device cookie as sent; the service checks its signature.
    pub device: Option<String>,
    /// The User-Agent header as sent (at most `MAX_USER_AGENT` bytes kept).
    pub user_agent: Option<String>,
}

pub const MAX_USER_AGENT: usize = 512;

impl Ctx {
    pub fn new(channel: Channel, ip: impl Into<String>) -> Ctx {
        Ctx {
            channel,
            ip: ip.into(),
            device: None,
            user_agent: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Web,
    Api,
    Ssh,
    GitHttp,
    Cli,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::Api => "api",
            Channel::Ssh => "ssh",
            Channel::GitHttp => "git-http",
            Channel::Cli => "cli",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// Base of every link in mail, e.g. `http://127.0.0.1:8080`.
    pub public_url: String,
    /// Shown in authenticator apps and mail.
    pub issuer: String,
    /// How the SSH endpoint is written in help texts, e.g. `ssh -p 2222 git@127.0.0.1`.
    pub ssh_hint: String,
    /// Where bare repositories live: `REPOS/OWNER/NAME.git`.
    pub repos_dir: std::path::PathBuf,
    /// Base of SSH clone URLs, e.g. `ssh://git@127.0.0.1:2222`.
    pub ssh_url: String,
    /// The SSH host key's `SHA256:` fingerprint, shown so people can check it.
    pub ssh_fingerprint: String,
    /// Seconds a self-service recovery waits with the password and mailbox only.
    pub recovery_wait: i64,
    /// Seconds it waits with a second proof (an SSH key, or a known browser).
    pub recovery_wait_with_proof: i64,
    /// OpenID Connect providers people may sign in with.
    pub oidc: Vec<OidcProvider>,
    /// Names no user or workspace may take: the first parts of the web
    /// server's own addresses (`/OWNER/REPO.git` shares the root with them).
    pub reserved_names: Vec<String>,
    /// An operator's Pwned Passwords SHA-1 file: new passwords found in it are refused.
    pub breached_passwords: Option<Arc<twostep_core::breached::List>>,
    /// How long signed-in sessions last.
    pub sessions: SessionLifetime,
    /// Self-service recovery (password, mailbox and a wait) may be asked
    /// for; off for a deployment that must be strictly AAL2 (administrators'
    /// resets remain).
    pub self_service_recovery: bool,
    /// The longest an app password or an OAuth grant may last (seconds);
    /// new ones last a year, or this if shorter, unless chosen shorter.
    pub credential_max_lifetime: i64,
}

/// A year: the longest lifetime of an app password or OAuth grant.
pub const CREDENTIAL_LIFETIME: i64 = 365 * 86400;

/// How long a signed-in session lasts: at most `absolute` seconds after
/// sign-in, and `idle` seconds after its last use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLifetime {
    pub absolute: i64,
    pub idle: i64,
}

impl SessionLifetime {
    /// 7 days, 12 idle hours.
    pub const DEFAULT: SessionLifetime = SessionLifetime {
        absolute: 7 * 24 * 3600,
        idle: 12 * 3600,
    };
    /// NIST SP 800-63B-4 AAL2: a new sign-in at least every 24 hours (shall),
    /// and after an hour unused (should).
    pub const AAL2: SessionLifetime = SessionLifetime {
        absolute: 24 * 3600,
        idle: 3600,
    };
}

/// 72 hours, and 24 with a second proof.
pub const RECOVERY_WAIT: i64 = 72 * 3600;
pub const RECOVERY_WAIT_WITH_PROOF: i64 = 24 * 3600;

#[derive(Clone)]
pub struct AuthService {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    mailer: Arc<dyn Deliver>,
    keys: Keys,
    clock: Arc<dyn Clock>,
    settings: Settings,
    /// `None` when the public URL's host cannot be a WebAuthn relying party (an IP address).
    webauthn: Option<webauthn_rs::Webauthn>,
    hasher: Arc<dyn PasswordHasher>,
    housekeeping: Arc<repos::housekeeping::Housekeeping>,
    git_operations: Arc<repos::git_operations::InFlight>,
    /// Providers' discovery documents and keys, fetched when first needed.
    oidc: providers::oidc::Discovered,
}

/// What the service works with: given by the binary (the real store, mail
/// transport, Argon2 workers and clock) or by a test of its rules.
pub struct Parts {
    pub store: Store,
    pub mailer: Arc<dyn Deliver>,
    pub hasher: Arc<dyn PasswordHasher>,
    pub keys: Keys,
    pub clock: Arc<dyn Clock>,
}

impl AuthService {
    pub fn new(parts: Parts, settings: Settings) -> AuthService {
        let Parts {
            store,
            mailer,
            hasher,
            keys,
            clock,
        } = parts;
        let webauthn = factors::security_keys::relying_party(&settings);
        AuthService {
            inner: Arc::new(Inner {
                store,
                mailer,
                keys,
                clock,
                settings,
                webauthn,
                hasher,
                housekeeping: repos::housekeeping::Housekeeping::new(),
                git_operations: Arc::default(),
                oidc: providers::oidc::Discovered::default(),
            }),
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The time, read once per decision.
    pub fn now(&self) -> UnixTime {
        self.inner.clock.now()
    }

    fn store(&self) -> &Store {
        &self.inner.store
    }

    /// True once after password-hashing memory was let go (a worker had no
    /// hash to do for 15 s); the caller may hand it back to the system.
    pub fn release_idle_memory(&self) -> bool {
        self.inner.hasher.release_if_idle()
    }

    fn hasher(&self) -> &dyn PasswordHasher {
        self.inner.hasher.as_ref()
    }

    fn keys(&self) -> &Keys {
        &self.inner.keys
    }

    /// Signed value for CSRF protection of forms.
    pub fn csrf_key(&self) -> &[u8; 32] {
        &self.inner.keys.csrf
    }

    /// A user's or workspace's name, valid and not one the server's own
    /// addresses use.
    pub(crate) fn valid_name(
        &self,
        raw: &str,
    ) -> std::result::Result<String, twostep_core::validate::NameError> {
        let name = twostep_core::validate::username(raw)?;
        if self.inner.settings.reserved_names.contains(&name) {
            return Err(twostep_core::validate::NameError::Reserved(name));
        }
        Ok(name)
    }

    fn link(&self, path_and_query: &str) -> String {
        format!(
            "{}{}",
            self.inner.settings.public_url.trim_end_matches('/'),
            path_and_query
        )
    }
}

fn rng() -> rand::rngs::OsRng {
    rand::rngs::OsRng
}

async fn commit(tx: twostep_store::Tx) -> Result<()> {
    tx.commit().await.map_err(AuthError::from)
}
