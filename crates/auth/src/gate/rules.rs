//! The gate's decisions, pure: what kind of caller is asking, what the action
//! needs, and what is still missing. No store, no clock: the facts come in.
//!
//! Checks run in a fixed order so that every channel gives the same answer:
//! the kind of caller, an access token's scope, administrator rights, a
//! confirmed email, the workspace's two-step policy, and last a fresh proof.

use twostep_core::app_password::{self, Scope};

/// Who is asking, as the requirement table names callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallerKind {
    /// No credential at all.
    Anonymous,
    /// A browser session that gave the password and still owes the second step.
    HalfSignedIn,
    /// A browser session whose sign-in is complete (cookie).
    Session,
    /// HTTP Basic with an app password (`tsap_…`).
    AppPassword,
    /// `Authorization: Bearer` (or Git's `x-token-auth`) with an OAuth access token.
    OAuthToken,
    /// HTTP Basic with the account password (two-step off only).
    BasicPassword,
    /// A registered SSH key.
    SshKey,
    /// An SSH certificate signed by a workspace's certificate authority.
    SshCertificate,
}

impl CallerKind {
    pub const ALL: [CallerKind; 8] = [
        CallerKind::Anonymous,
        CallerKind::HalfSignedIn,
        CallerKind::Session,
        CallerKind::AppPassword,
        CallerKind::OAuthToken,
        CallerKind::BasicPassword,
        CallerKind::SshKey,
        CallerKind::SshCertificate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CallerKind::Anonymous => "anonymous",
            CallerKind::HalfSignedIn => "half signed in",
            CallerKind::Session => "session",
            CallerKind::AppPassword => "app password",
            CallerKind::OAuthToken => "OAuth token",
            CallerKind::BasicPassword => "Basic password",
            CallerKind::SshKey => "SSH key",
            CallerKind::SshCertificate => "SSH certificate",
        }
    }

    const fn bit(self) -> u8 {
        1 << self as u8
    }

    /// Callers that carry a bearer secret with scopes.
    pub fn scoped(self) -> bool {
        matches!(self, CallerKind::AppPassword | CallerKind::OAuthToken)
    }
}

/// A set of caller kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Callers(u8);

impl Callers {
    pub const fn of(kinds: &[CallerKind]) -> Callers {
        let mut bits = 0;
        let mut i = 0;
        while i < kinds.len() {
            bits |= kinds[i].bit();
            i += 1;
        }
        Callers(bits)
    }

    pub fn contains(self, k: CallerKind) -> bool {
        self.0 & k.bit() != 0
    }

    pub fn kinds(self) -> impl Iterator<Item = CallerKind> {
        CallerKind::ALL
            .into_iter()
            .filter(move |k| self.contains(*k))
    }
}

/// What an action needs, as its row in the table declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    pub callers: Callers,
    /// App passwords and OAuth tokens need this scope.
    pub scope: Option<Scope>,
    /// Administrator rights (and, with them, two-step on).
    pub admin: bool,
    /// A confirmed email address (every new credential needs one).
    pub confirmed_email: bool,
    /// The two-step policy of the workspace the request names is met.
    pub workspace: bool,
    /// A fresh proof on this session (sudo mode), or one given with the request.
    pub fresh: bool,
    /// A new credential: where a workspace of the account requires keys,
    /// only a session signed in with one makes it.
    pub new_credential: bool,
}

/// Whether the caller has shown it is them lately.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// The session's sudo window is open.
    Open,
    /// A proof came with the request: the action checks it (and counts it).
    Offered,
    Missing,
}

/// A workspace's policy as it applies to this caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkspaceFact {
    /// No workspace named, or its policy is met (or not enforced yet).
    Met,
    /// The workspace's rules keep this caller out; `sentence` says why
    /// (`{setup}` and `{keys}` stand for the pages that fix it).
    Refused { name: String, sentence: String },
}

/// What the gate knows about the caller and the request.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub kind: CallerKind,
    pub scopes: Option<&'a [Scope]>,
    pub admin: bool,
    pub two_step_on: bool,
    pub email_confirmed: bool,
    pub workspace: WorkspaceFact,
    pub freshness: Freshness,
    /// A workspace of the account requires keys, the account has one, and
    /// this session was not signed in with it: that workspace's name.
    pub key_session_missing: Option<String>,
}

/// Why the gate said no, in the order the checks run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No caller the action accepts: sign in (or finish signing in).
    SignInRequired,
    /// An app password or an OAuth token, where only a person signed in may act.
    NotForBearer(CallerKind),
    /// The account password over HTTP Basic, where a browser session is needed.
    NeedsSession,
    /// A session, where the action is for Git clients and tools only.
    NeedsToken,
    /// An SSH certificate, where a registered SSH key is needed.
    NeedsSshKey,
    MissingScope(Scope),
    AdminOnly,
    AdminWithoutTwoStep,
    EmailUnconfirmed,
    Workspace {
        name: String,
        sentence: String,
    },
    /// A new credential from a session not signed in with a key, where a
    /// workspace of the account requires keys.
    KeySession {
        name: String,
    },
    /// `two_step_on` says which proof to ask for.
    SudoRequired {
        two_step_on: bool,
    },
}

/// The one decision of the gate.
pub fn check(need: &Need, f: &Facts<'_>) -> Result<(), Refusal> {
    if !need.callers.contains(f.kind) {
        return Err(match f.kind {
            CallerKind::Anonymous | CallerKind::HalfSignedIn => Refusal::SignInRequired,
            k @ (CallerKind::AppPassword | CallerKind::OAuthToken) => Refusal::NotForBearer(k),
            CallerKind::BasicPassword => Refusal::NeedsSession,
            CallerKind::Session | CallerKind::SshKey => Refusal::NeedsToken,
            CallerKind::SshCertificate => Refusal::NeedsSshKey,
        });
    }
    if let (Some(scope), true) = (need.scope, f.kind.scoped()) {
        if !f.scopes.is_some_and(|s| app_password::grants(s, scope)) {
            return Err(Refusal::MissingScope(scope));
        }
    }
    if need.admin {
        if !f.admin {
            return Err(Refusal::AdminOnly);
        }
        if !f.two_step_on {
            return Err(Refusal::AdminWithoutTwoStep);
        }
    }
    if need.confirmed_email && !f.email_confirmed {
        return Err(Refusal::EmailUnconfirmed);
    }
    if let WorkspaceFact::Refused { name, sentence } = &f.workspace {
        if need.workspace {
            return Err(Refusal::Workspace {
                name: name.clone(),
                sentence: sentence.clone(),
            });
        }
    }
    if let (true, Some(name)) = (need.new_credential, &f.key_session_missing) {
        return Err(Refusal::KeySession { name: name.clone() });
    }
    if need.fresh && f.freshness == Freshness::Missing {
        return Err(Refusal::SudoRequired {
            two_step_on: f.two_step_on,
        });
    }
    Ok(())
}

/// How someone confirmed it is them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofKind {
    Password,
    /// A TOTP code or a recovery code.
    SecondFactor,
    /// A security key or passkey, and whether it was on the account before
    /// this session began (one added by the session proves nothing).
    SecurityKey {
        added_before_session: bool,
    },
    /// Signing in again at a linked provider: `mfa` when the provider is
    /// trusted for MFA and its token says a second factor was used.
    Provider {
        mfa: bool,
    },
}

/// The account's own way in, which a proof must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WayIn {
    pub two_step_on: bool,
    pub has_password: bool,
}

/// Why a proof does not open sudo mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeakProof {
    /// Two-step is on: a code, a recovery code or a security key is needed.
    SecondFactorNeeded,
    /// Two-step is off: the account password is needed.
    PasswordNeeded,
    /// The account has no password and two-step off: its provider is the way in.
    ProviderNeeded,
    /// A security key added during this very session.
    KeyTooNew,
}

/// A proof opens sudo only when it is as strong as the account's own
/// sign-in: with two-step on a second factor is always part of it (a
/// provider counts only with its own second factor, trusted for MFA, and only
/// for an account whose way in is the provider); with two-step off, the
/// password, or the provider for an account that has no password.
pub fn proof_opens_sudo(way: WayIn, proof: ProofKind) -> Result<(), WeakProof> {
    match (way.two_step_on, proof) {
        (true, ProofKind::SecondFactor) => Ok(()),
        (
            true,
            ProofKind::SecurityKey {
                added_before_session: true,
            },
        ) => Ok(()),
        (
            _,
            ProofKind::SecurityKey {
                added_before_session: false,
            },
        ) => Err(WeakProof::KeyTooNew),
        (true, ProofKind::Provider { mfa: true }) if !way.has_password => Ok(()),
        (true, _) => Err(WeakProof::SecondFactorNeeded),
        (false, ProofKind::Password) if way.has_password => Ok(()),
        (false, ProofKind::Provider { .. }) if !way.has_password => Ok(()),
        (false, _) if way.has_password => Err(WeakProof::PasswordNeeded),
        (false, _) => Err(WeakProof::ProviderNeeded),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_WEB: Callers = Callers::of(&[
        CallerKind::Anonymous,
        CallerKind::HalfSignedIn,
        CallerKind::Session,
        CallerKind::AppPassword,
        CallerKind::OAuthToken,
        CallerKind::BasicPassword,
    ]);

    fn need(callers: Callers) -> Need {
        Need {
            callers,
            scope: None,
            admin: false,
            confirmed_email: false,
            workspace: false,
            fresh: false,
            new_credential: false,
        }
    }

    fn facts(kind: CallerKind) -> Facts<'static> {
        Facts {
            kind,
            scopes: None,
            admin: false,
            two_step_on: true,
            email_confirmed: true,
            workspace: WorkspaceFact::Met,
            key_session_missing: None,
            freshness: Freshness::Open,
        }
    }

    #[test]
    fn callers_outside_the_declaration_are_told_what_they_lack() {
        let session_only = need(Callers::of(&[CallerKind::Session]));
        let want = [
            (CallerKind::Anonymous, Refusal::SignInRequired),
            (CallerKind::HalfSignedIn, Refusal::SignInRequired),
            (
                CallerKind::AppPassword,
                Refusal::NotForBearer(CallerKind::AppPassword),
            ),
            (
                CallerKind::OAuthToken,
                Refusal::NotForBearer(CallerKind::OAuthToken),
            ),
            (CallerKind::BasicPassword, Refusal::NeedsSession),
        ];
        for (kind, refusal) in want {
            assert_eq!(check(&session_only, &facts(kind)), Err(refusal), "{kind:?}");
        }
        assert_eq!(check(&session_only, &facts(CallerKind::Session)), Ok(()));
        let tools = need(Callers::of(&[CallerKind::AppPassword]));
        assert_eq!(
            check(&tools, &facts(CallerKind::Session)),
            Err(Refusal::NeedsToken)
        );
        for k in ALL_WEB.kinds() {
            assert_eq!(check(&need(ALL_WEB), &facts(k)), Ok(()));
        }
    }

    #[test]
    fn scopes_bind_tokens_only_and_admin_comes_before_input() {
        let mut n = need(Callers::of(&[CallerKind::Session, CallerKind::AppPassword]));
        n.scope = Some(Scope::RepoWrite);
        let read = [Scope::RepoRead];
        let f = Facts {
            scopes: Some(&read),
            ..facts(CallerKind::AppPassword)
        };
        assert_eq!(check(&n, &f), Err(Refusal::MissingScope(Scope::RepoWrite)));
        let write = [Scope::RepoWrite];
        let f = Facts {
            scopes: Some(&write),
            ..facts(CallerKind::AppPassword)
        };
        assert_eq!(check(&n, &f), Ok(()));
        assert_eq!(check(&n, &facts(CallerKind::Session)), Ok(()));

        let mut admin = need(Callers::of(&[CallerKind::Session]));
        admin.admin = true;
        admin.fresh = true;
        let mut f = facts(CallerKind::Session);
        f.freshness = Freshness::Missing;
        assert_eq!(check(&admin, &f), Err(Refusal::AdminOnly));
        f.admin = true;
        f.two_step_on = false;
        assert_eq!(check(&admin, &f), Err(Refusal::AdminWithoutTwoStep));
        f.two_step_on = true;
        assert_eq!(
            check(&admin, &f),
            Err(Refusal::SudoRequired { two_step_on: true })
        );
        f.freshness = Freshness::Offered;
        assert_eq!(check(&admin, &f), Ok(()));
    }

    #[test]
    fn email_then_workspace_then_freshness() {
        let mut n = need(Callers::of(&[CallerKind::Session]));
        n.confirmed_email = true;
        n.workspace = true;
        n.fresh = true;
        let mut f = facts(CallerKind::Session);
        f.email_confirmed = false;
        f.freshness = Freshness::Missing;
        f.workspace = WorkspaceFact::Refused {
            name: "acme".into(),
            sentence: "The workspace acme requires two-step verification.".into(),
        };
        assert_eq!(check(&n, &f), Err(Refusal::EmailUnconfirmed));
        f.email_confirmed = true;
        assert!(matches!(check(&n, &f), Err(Refusal::Workspace { .. })));
        f.workspace = WorkspaceFact::Met;
        f.two_step_on = false;
        assert_eq!(
            check(&n, &f),
            Err(Refusal::SudoRequired { two_step_on: false })
        );
        f.freshness = Freshness::Open;
        assert_eq!(check(&n, &f), Ok(()));
        // A workspace refusal matters only to actions that declare it.
        n.workspace = false;
        f.workspace = WorkspaceFact::Refused {
            name: "acme".into(),
            sentence: String::new(),
        };
        assert_eq!(check(&n, &f), Ok(()));
    }

    #[test]
    fn a_proof_is_as_strong_as_the_accounts_own_sign_in() {
        use ProofKind::*;
        let two_step = WayIn {
            two_step_on: true,
            has_password: true,
        };
        let provider_two_step = WayIn {
            two_step_on: true,
            has_password: false,
        };
        let plain = WayIn {
            two_step_on: false,
            has_password: true,
        };
        let provider_only = WayIn {
            two_step_on: false,
            has_password: false,
        };
        let old_key = SecurityKey {
            added_before_session: true,
        };
        let new_key = SecurityKey {
            added_before_session: false,
        };
        let cases = [
            (two_step, SecondFactor, Ok(())),
            (two_step, old_key, Ok(())),
            (two_step, new_key, Err(WeakProof::KeyTooNew)),
            (two_step, Password, Err(WeakProof::SecondFactorNeeded)),
            // The hole: a provider re-login on an account with a password
            // and two-step on opened sudo without a code.
            (
                two_step,
                Provider { mfa: false },
                Err(WeakProof::SecondFactorNeeded),
            ),
            (
                two_step,
                Provider { mfa: true },
                Err(WeakProof::SecondFactorNeeded),
            ),
            (provider_two_step, SecondFactor, Ok(())),
            (
                provider_two_step,
                Provider { mfa: false },
                Err(WeakProof::SecondFactorNeeded),
            ),
            (provider_two_step, Provider { mfa: true }, Ok(())),
            (plain, Password, Ok(())),
            (
                plain,
                Provider { mfa: true },
                Err(WeakProof::PasswordNeeded),
            ),
            (plain, SecondFactor, Err(WeakProof::PasswordNeeded)),
            (provider_only, Provider { mfa: false }, Ok(())),
            (provider_only, Password, Err(WeakProof::ProviderNeeded)),
        ];
        for (way, proof, want) in cases {
            assert_eq!(proof_opens_sudo(way, proof), want, "{way:?} {proof:?}");
        }
    }
}
