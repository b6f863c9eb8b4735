//! The gate: one table of what each action needs (`table.rs`), one pure
//! decision (`rules.rs`), and the two ways in from here:
//!
//! - `admit`, which every front-end calls before it reads a request's input
//!   (the web server for every route, the SSH server for every command);
//! - `begin_action`, which an action of this service calls to open its
//!   transaction: the same row checked again against the stored account,
//!   then the fresh proof verified (sudo mode).
//!
//! Nothing else decides who may act.

mod rules;
mod table;

pub use rules::{
    check, proof_opens_sudo, CallerKind, Callers, Facts, Freshness, Need, ProofKind, Refusal,
    WayIn, WeakProof, WorkspaceFact,
};
pub use table::Action;

use twostep_core::workspace::{
    self as ws_policy, Level, Policy, Presented, Rules, SshKeyRule, Via,
};
use twostep_store::users::User;
use twostep_store::Tx;

use crate::signin::sudo::Proof;
use crate::{AuthError, AuthService, Caller, Ctx, Result, SessionInfo};

impl SessionInfo {
    /// The kind of caller, as the requirement table names it.
    pub fn kind(&self) -> CallerKind {
        match &self.caller {
            Caller::Session { .. } if self.complete => CallerKind::Session,
            Caller::Session { .. } => CallerKind::HalfSignedIn,
            Caller::AppPassword { .. } => CallerKind::AppPassword,
            Caller::OAuthToken { .. } => CallerKind::OAuthToken,
            Caller::Password => CallerKind::BasicPassword,
            Caller::SshKey(_) => CallerKind::SshKey,
            Caller::SshCertificate => CallerKind::SshCertificate,
        }
    }
}

impl Refusal {
    /// The refusal as the error every channel shows.
    pub fn into_error(self) -> AuthError {
        match self {
            Refusal::SignInRequired => AuthError::SignInRequired,
            Refusal::NotForBearer(_) => AuthError::AppPasswordNotAllowed,
            Refusal::NeedsSession => AuthError::SessionRequired,
            Refusal::NeedsToken => AuthError::Forbidden(
                "Git over HTTPS signs in with your username and an app password (or an OAuth token), not a browser session.".into(),
            ),
            Refusal::NeedsSshKey => AuthError::Forbidden(
                "An SSH certificate reaches only the Git repositories of the workspaces that trust its authority; use a registered SSH key for this.".into(),
            ),
            Refusal::MissingScope(s) => AuthError::MissingScope(s.as_str()),
            Refusal::AdminOnly => AuthError::Forbidden("Only administrators can do this.".into()),
            Refusal::AdminWithoutTwoStep => AuthError::Forbidden(
                "Administrators must have two-step verification on. Turn it on first, then come back.".into(),
            ),
            Refusal::EmailUnconfirmed => AuthError::EmailUnconfirmed,
            Refusal::Workspace { sentence, .. } => AuthError::Forbidden(sentence),
            Refusal::KeySession { name } => AuthError::Forbidden(format!(
                "The workspace {name} requires a security key or passkey: new SSH keys, app passwords, \
                 authorised applications, keys and sign-in providers are made only by a session signed in with one. \
                 Confirm with your key at {{setup}}, or sign out and in again with it."
            )),
            Refusal::SudoRequired { two_step_on } => AuthError::SudoRequired { two_step_on },
        }
    }

    /// A short stable name, for logs and the marker front-ends put on a refusal.
    pub fn name(&self) -> &'static str {
        match self {
            Refusal::SignInRequired => "sign_in",
            Refusal::NotForBearer(_) => "bearer",
            Refusal::NeedsSession => "session",
            Refusal::NeedsToken => "token",
            Refusal::NeedsSshKey => "ssh_key",
            Refusal::MissingScope(_) => "scope",
            Refusal::AdminOnly => "admin",
            Refusal::AdminWithoutTwoStep => "admin_two_step",
            Refusal::EmailUnconfirmed => "email",
            Refusal::Workspace { .. } => "workspace",
            Refusal::KeySession { .. } => "workspace_key",
            Refusal::SudoRequired { .. } => "sudo",
        }
    }
}

/// A refusal of the gate: the error to show, and which rule said no.
#[derive(Debug)]
pub struct Refused {
    pub rule: &'static str,
    pub error: AuthError,
}

impl From<Refused> for AuthError {
    fn from(r: Refused) -> AuthError {
        r.error
    }
}

impl AuthService {
    fn gate_refusal(&self, r: Refusal) -> Refused {
        let rule = r.name();
        let error = match r.into_error() {
            AuthError::Forbidden(m) if rule == "workspace" || rule == "workspace_key" => {
                AuthError::Forbidden(
                    m.replace("{setup}", &self.link("/account/two-step"))
                        .replace("{keys}", &self.link("/account/ssh-keys")),
                )
            }
            e => e,
        };
        Refused { rule, error }
    }

    /// Whether the workspace named `name` (if it is one) keeps this caller
    /// out: its two-step requirement at its level, its SSH rules. Members
    /// and strangers alike, so the answer does not tell whether someone
    /// belongs. `caller`: how they came (`None`: the account's own factors,
    /// as for a token).
    pub(crate) async fn workspace_fact(
        &self,
        user: &twostep_core::UserId,
        two_step_on: bool,
        caller: Option<&SessionInfo>,
        name: Option<&str>,
    ) -> Result<WorkspaceFact> {
        let Some(name) = name.map(|n| n.trim().to_ascii_lowercase()) else {
            return Ok(WorkspaceFact::Met);
        };
        if name.is_empty() || name.len() > 64 {
            return Ok(WorkspaceFact::Met);
        }
        let mut c = self.store().conn().await?;
        let Some(w) = twostep_store::workspaces::by_name(&mut c, &name).await? else {
            return Ok(WorkspaceFact::Met);
        };
        let now = self.now();
        let policy = ws_policy::policy(w.two_step_enforced_at, now);
        let level = Level::stored(&w.two_step_level);
        let models = ws_policy::stored_models(&w.allowed_aaguids);
        let rules = Rules {
            policy,
            level,
            two_step_since: w.two_step_floor_at.filter(|f| *f <= now),
            models: &models,
            ssh_keys: SshKeyRule::stored(&w.ssh_key_rule),
            certificates_required: w.ssh_certificates_required,
        };
        // The account's keys only when the level asks for them.
        let keys = if level == Level::PhishingResistant
            && matches!(policy, Policy::Enforced { .. })
            && two_step_on
        {
            twostep_store::security_keys::for_user(&mut c, user).await?
        } else {
            Vec::new()
        };
        drop(c);
        let key_models: Vec<String> = keys.iter().map(|k| k.aaguid.clone()).collect();
        let session_key = caller
            .and_then(|s| s.signed_in_key.as_deref())
            .and_then(|id| keys.iter().find(|k| k.id == id))
            .map(|k| k.aaguid.as_str());
        let via = match caller.map(|s| &s.caller) {
            Some(Caller::Session { .. }) => Via::Session {
                key_model: session_key,
            },
            Some(Caller::SshKey(k)) => Via::SshKey {
                fido: k.fido,
                verify_required: k.verify_required,
            },
            Some(Caller::SshCertificate) => Via::SshCertificate,
            _ => Via::Token,
        };
        let presented = Presented {
            two_step_on,
            key_models: &key_models,
            via,
        };
        Ok(match ws_policy::shortfall(&rules, &presented) {
            None => WorkspaceFact::Met,
            Some(short) => WorkspaceFact::Refused {
                sentence: crate::workspaces::policy::refusal_sentence(
                    &w.name,
                    &short,
                    !models.is_empty(),
                ),
                name: w.name,
            },
        })
    }

    /// Whether `action` takes this kind of caller at all: front-ends ask
    /// before they verify a credential the action would refuse anyway (no
    /// password hash spent on it, no failure counted).
    pub fn accepts(&self, action: Action, kind: CallerKind) -> std::result::Result<(), Refused> {
        if action.need().callers.contains(kind) {
            return Ok(());
        }
        let facts = Facts {
            kind,
            scopes: None,
            admin: false,
            two_step_on: false,
            email_confirmed: false,
            workspace: WorkspaceFact::Met,
            freshness: Freshness::Missing,
            key_session_missing: None,
        };
        check(&action.need(), &facts).map_err(|r| self.gate_refusal(r))
    }

    /// The workspace rule alone, for repository access (SSH, HTTPS, pages
    /// and API decide a workspace repository through it).
    pub(crate) async fn workspace_allows(
        &self,
        user_id: &twostep_core::UserId,
        name: &str,
    ) -> Result<()> {
        let user = self.user_row(user_id).await?;
        match self
            .workspace_fact(
                user_id,
                user.two_step_enabled_at.is_some(),
                None,
                Some(name),
            )
            .await?
        {
            WorkspaceFact::Met => Ok(()),
            WorkspaceFact::Refused { name, sentence } => Err(self
                .gate_refusal(Refusal::Workspace { name, sentence })
                .error),
        }
    }

    /// The front-ends' check, before any input is read: may this caller ask
    /// for `action` on `workspace` (the workspace or owner the request
    /// names)? `proof_offered`: the request carries a code or password for
    /// the action to verify. Anonymous callers are `None`.
    pub async fn admit(
        &self,
        action: Action,
        caller: Option<&SessionInfo>,
        workspace: Option<&str>,
        proof_offered: bool,
    ) -> std::result::Result<(), Refused> {
        let need = action.need();
        let Some(s) = caller else {
            let facts = Facts {
                kind: CallerKind::Anonymous,
                scopes: None,
                admin: false,
                two_step_on: false,
                email_confirmed: false,
                workspace: WorkspaceFact::Met,
                freshness: Freshness::Missing,
                key_session_missing: None,
            };
            return check(&need, &facts).map_err(|r| self.gate_refusal(r));
        };
        let workspace = if need.workspace {
            self.workspace_fact(&s.user.id, s.user.two_step_on(), Some(s), workspace)
                .await
                .map_err(|error| Refused {
                    rule: "internal",
                    error,
                })?
        } else {
            WorkspaceFact::Met
        };
        let facts = Facts {
            kind: s.kind(),
            scopes: s.scopes(),
            admin: s.user.is_admin,
            two_step_on: s.user.two_step_on(),
            email_confirmed: s.user.email_confirmed(),
            workspace,
            freshness: if crate::signin::sudo::sudo_open(s, self.now()) {
                Freshness::Open
            } else if proof_offered {
                Freshness::Offered
            } else {
                Freshness::Missing
            },
            key_session_missing: if need.new_credential {
                self.key_session_missing(s).await.map_err(|error| Refused {
                    rule: "internal",
                    error,
                })?
            } else {
                None
            },
        };
        let r = check(&need, &facts).map_err(|r| self.gate_refusal(r));
        if let Err(e) = &r {
            tracing::info!(action = ?action, caller = s.kind().as_str(), rule = e.rule, "refused by the gate");
        }
        r
    }

    /// Checks `action`'s row of the table for `session` against the account
    /// as stored now; a fresh proof, when the row asks for one, must be open
    /// or offered (`begin_action` verifies an offered one).
    pub(crate) async fn allowed(
        &self,
        action: Action,
        session: &SessionInfo,
        proof: &Proof,
        workspace: Option<&str>,
    ) -> Result<User> {
        let need = action.need();
        let user = self.user_row(&session.user.id).await?;
        let two_step_on = user.two_step_enabled_at.is_some();
        let facts = Facts {
            kind: session.kind(),
            scopes: session.scopes(),
            admin: user.admin(),
            two_step_on,
            email_confirmed: user.email_confirmed_at.is_some(),
            workspace: if need.workspace {
                self.workspace_fact(&user.id, two_step_on, Some(session), workspace)
                    .await?
            } else {
                WorkspaceFact::Met
            },
            freshness: match (crate::signin::sudo::sudo_open(session, self.now()), proof) {
                (true, _) => Freshness::Open,
                (false, Proof::None) => Freshness::Missing,
                (false, _) => Freshness::Offered,
            },
            key_session_missing: if need.new_credential {
                self.key_session_missing(session).await?
            } else {
                None
            },
        };
        check(&need, &facts).map_err(|r| self.gate_refusal(r).error)?;
        Ok(user)
    }

    /// Opens the transaction of `action` for `session`: `allowed`, then,
    /// when the row asks for it and the session is not in sudo mode, `proof`
    /// verified (counted when wrong), which opens the window.
    pub(crate) async fn begin_action(
        &self,
        action: Action,
        session: &SessionInfo,
        proof: &Proof,
        workspace: Option<&str>,
        ctx: &Ctx,
    ) -> Result<(Tx, User)> {
        let user = self.allowed(action, session, proof, workspace).await?;
        // A proof that is given is checked (and counted) even in sudo mode.
        let open = crate::signin::sudo::sudo_open(session, self.now());
        if action.need().fresh && (!open || *proof != Proof::None) {
            return self.prove(session, user, proof, ctx).await;
        }
        Ok((self.store().begin().await?, user))
    }
}
