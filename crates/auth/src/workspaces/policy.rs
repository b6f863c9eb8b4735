//! "Require two-step verification": a workspace admin turns it on with a
//! grace period, at a level (any second factor, or a phishing-resistant
//! one: a security key or passkey, optionally of allowed models); members
//! who fall short are mailed and, after it, reach none of the workspace's
//! repositories until they meet it.

use twostep_core::workspace::{
    self as policy, Level, Policy, Rules, Shortfall, SshKeyRule, DEFAULT_GRACE, MAX_GRACE,
};
use twostep_core::UnixTime;
use twostep_store::users::{self, User};
use twostep_store::workspaces::{self as ws};

use super::Workspaces;
use crate::error::utc;
use crate::gate::Action;
use crate::notify::Event;
use crate::{commit, AuthError, AuthService, Ctx, Proof, Result, SessionInfo};

impl AuthService {
    pub(super) async fn mail_policy(
        &self,
        user: &User,
        workspace: &str,
        level: Level,
        from: UnixTime,
    ) {
        let (what, fix) = match level {
            Level::TwoStep => ("two-step verification", "Turn it on"),
            Level::PhishingResistant => {
                ("a security key or passkey", "Add one (and sign in with it)")
            }
        };
        let body = format!(
            "The workspace {workspace} requires {what} from {} UTC, and your account does not meet it yet.\n\n\
             {fix} before then: {}\n\n\
             Until then nothing changes. After it, you cannot reach {workspace}'s repositories \
             (SSH, HTTPS, pages and API, app passwords included) until you do; \
             nothing is removed.",
            utc(from),
            self.link("/account/two-step")
        );
        let subject = format!("A workspace requires {what}");
        self.notify(
            user,
            &subject,
            &body,
            &crate::Ctx::new(crate::Channel::Web, "server"),
        )
        .await;
    }

    /// Whether the account meets what `rules` ask of it (any channel).
    pub(crate) async fn account_meets(&self, user: &User, rules: &Rules<'_>) -> Result<bool> {
        let mut c = self.store().conn().await?;
        let models: Vec<String> = twostep_store::security_keys::for_user(&mut c, &user.id)
            .await?
            .into_iter()
            .map(|k| k.aaguid)
            .collect();
        Ok(!policy::account_short(
            rules,
            user.two_step_enabled_at.is_some(),
            &models,
        ))
    }
}

impl AuthService {
    /// An admin may not set a list of models none of their own keys is of:
    /// it would lock them out of the workspace, its policy included, with
    /// nothing they could do alone. (Two-step off, no key, a session signed
    /// in with a code: each is theirs to fix on their own pages, and the
    /// grace period, banner and mail say so.)
    async fn admin_meets(
        &self,
        c: &mut twostep_store::Conn,
        me: &User,
        models: &[String],
        name: &str,
    ) -> Result<()> {
        if models.is_empty() {
            return Ok(());
        }
        let keys = twostep_store::security_keys::for_user(c, &me.id).await?;
        if keys.iter().any(|k| models.contains(&k.aaguid)) {
            return Ok(());
        }
        Err(AuthError::Conflict(format!(
            "Meet it yourself first: none of your security keys or passkeys is of a model on this list, \
             so it would lock you out of {name}. Add a key of a listed model at {} \
             (a key added before you were an admin here shows no model: add it again), then set the list.",
            self.link("/account/two-step")
        )))
    }
}

impl AuthService {
    /// A workspace of this account that requires keys, enforced now, when
    /// the account has a key it allows and `session` was not signed in with
    /// one: a phished session (password and code) makes no credential that
    /// would reach it. An account with no such key yet may add its first.
    pub(crate) async fn key_session_missing(
        &self,
        session: &SessionInfo,
    ) -> Result<Option<String>> {
        if !matches!(session.caller, crate::Caller::Session { .. }) {
            return Ok(None);
        }
        let now = self.now();
        let mut c = self.store().conn().await?;
        let strict: Vec<_> = ws::of_user(&mut c, &session.user.id)
            .await?
            .into_iter()
            .filter(|m| {
                Level::stored(&m.two_step_level) == Level::PhishingResistant
                    && matches!(
                        policy::policy(m.two_step_enforced_at, now),
                        Policy::Enforced { .. }
                    )
            })
            .collect();
        if strict.is_empty() {
            return Ok(None);
        }
        let keys = twostep_store::security_keys::for_user(&mut c, &session.user.id).await?;
        let signed_with = session
            .signed_in_key
            .as_deref()
            .and_then(|id| keys.iter().find(|k| k.id == id));
        for m in strict {
            let models = policy::stored_models(&m.allowed_aaguids);
            let allowed = |aaguid: &str| policy::model_allowed(&models, aaguid);
            let has_one = keys.iter().any(|k| allowed(&k.aaguid));
            if has_one && !signed_with.is_some_and(|k| allowed(&k.aaguid)) {
                return Ok(Some(m.name));
            }
        }
        Ok(None)
    }
}

/// The sentence a refusal shows; `{setup}` and `{keys}` stand for the pages
/// that fix it.
pub(crate) fn refusal_sentence(name: &str, short: &Shortfall, listed_models: bool) -> String {
    let models = if listed_models {
        " of a model the workspace allows"
    } else {
        ""
    };
    match short {
        Shortfall::TwoStepOff { since } => format!(
            "The workspace {name} requires two-step verification (since {} UTC), and yours is off. \
             Turn it on at {{setup}} to use it again; nothing of yours was removed.",
            utc(*since)
        ),
        Shortfall::NoPhishingResistantFactor { since } => format!(
            "The workspace {name} requires a security key or passkey (since {} UTC), and your account has none. \
             Add one at {{setup}} to use it again; nothing of yours was removed.",
            utc(*since)
        ),
        Shortfall::ModelNotAllowed { since } => format!(
            "The workspace {name} requires a security key or passkey of a model its admins allow (since {} UTC), \
             and none of yours is one. Add an allowed key at {{setup}}; nothing of yours was removed.",
            utc(*since)
        ),
        Shortfall::SessionNotSignedInWithKey => format!(
            "The workspace {name} requires signing in with a security key or passkey{models}. \
             Confirm with your key at {{setup}}, or sign out and in again with it."
        ),
        Shortfall::CertificateRequired => format!(
            "The workspace {name} accepts only SSH certificates signed by its certificate authority. \
             Connect with your certificate (ssh -i KEY with KEY-cert.pub beside it), or use HTTPS."
        ),
        Shortfall::SshKeyNotFido => format!(
            "The workspace {name} accepts only FIDO security-key SSH keys over SSH (a key marked \
             no-touch-required does not count, nor does a certificate). \
             Make one with `ssh-keygen -t ed25519-sk` and add it at {{keys}}."
        ),
        Shortfall::SshKeyNotVerified => format!(
            "The workspace {name} accepts only FIDO SSH keys that check your PIN or fingerprint each time. \
             Make one with `ssh-keygen -t ed25519-sk -O verify-required` and add it at {{keys}} \
             with the option: verify-required sk-ssh-ed25519@openssh.com AAAA…"
        ),
    }
}

/// A workspace whose requirement this account does not meet yet, what it
/// asks, and from when.
#[derive(Debug, Clone)]
pub struct WorkspaceDeadline {
    pub workspace: String,
    pub from: UnixTime,
    /// "two-step verification" or "a security key or passkey".
    pub what: &'static str,
}

/// What a requirement at `level` asks, as banners and mails say it.
pub fn level_text(level: Level) -> &'static str {
    match level {
        Level::TwoStep => "two-step verification",
        Level::PhishingResistant => "a security key or passkey",
    }
}

/// The most models a workspace lists.
const MAX_MODELS: usize = 20;

/// AAGUIDs as an admin types them (spaces, commas or lines between them),
/// checked and lowercased.
pub fn parse_models(text: &str) -> Result<Vec<String>> {
    let bad = |m: &str| {
        AuthError::invalid(
            "invalid_aaguid",
            "models",
            format!(
                "\"{}\" is not an AAGUID. Write each like cb69481e-8ff7-4039-93ec-0a2729a154a8.",
                m.chars().take(40).collect::<String>()
            ),
        )
    };
    let mut out: Vec<String> = Vec::new();
    for m in text.split(|c: char| c.is_whitespace() || c == ',') {
        if m.is_empty() {
            continue;
        }
        let m = m.to_ascii_lowercase();
        let shape = m.len() == 36
            && m.char_indices().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => c == '-',
                _ => c.is_ascii_hexdigit(),
            });
        if !shape {
            return Err(bad(&m));
        }
        if !out.contains(&m) {
            out.push(m);
        }
    }
    if out.len() > MAX_MODELS {
        return Err(AuthError::invalid(
            "too_many_aaguids",
            "models",
            format!("List at most {MAX_MODELS} models."),
        ));
    }
    Ok(out)
}

/// A change of a workspace's requirement.
#[derive(Debug, Clone)]
pub struct PolicyChange {
    /// `None` turns the requirement off.
    pub level: Option<Level>,
    /// Allowed authenticator models (phishing-resistant level only).
    pub models: Vec<String>,
    /// Default: a week.
    pub grace_seconds: Option<i64>,
}

impl Workspaces<'_> {
    /// Workspaces whose requirement will keep this account out, with when:
    /// for the banner and the mail.
    pub async fn two_step_deadlines(
        &self,
        user: &crate::Account,
    ) -> Result<Vec<WorkspaceDeadline>> {
        let mut out = Vec::new();
        let mut key_models: Option<Vec<String>> = None;
        for m in self.workspaces_of(&user.id).await? {
            let from = match m.policy {
                Policy::Off => continue,
                Policy::Grace { until } => until,
                Policy::Enforced { since } => since,
            };
            if user.two_step_on() && m.level == Level::TwoStep {
                continue;
            }
            if key_models.is_none() && user.two_step_on() {
                let mut c = self.store().conn().await?;
                key_models = Some(
                    twostep_store::security_keys::for_user(&mut c, &user.id)
                        .await?
                        .into_iter()
                        .map(|k| k.aaguid)
                        .collect(),
                );
            }
            let rules = Rules {
                policy: m.policy,
                level: m.level,
                two_step_since: None,
                models: &m.models,
                ssh_keys: SshKeyRule::Any,
                certificates_required: false,
            };
            let models = key_models.as_deref().unwrap_or(&[]);
            if policy::account_short(&rules, user.two_step_on(), models) {
                out.push(WorkspaceDeadline {
                    workspace: m.name,
                    from,
                    what: level_text(m.level),
                });
            }
        }
        Ok(out)
    }

    /// Turns "require two-step verification" on at a level (with a grace
    /// period, default 7 days) or off. A security setting: it needs the
    /// admin's fresh factor.
    pub async fn set_workspace_two_step_policy(
        &self,
        session: &SessionInfo,
        workspace: &str,
        change: &PolicyChange,
        proof: &Proof,
        ctx: &Ctx,
    ) -> Result<Policy> {
        let grace = change.grace_seconds.unwrap_or(DEFAULT_GRACE);
        if !(0..=MAX_GRACE).contains(&grace) {
            return Err(AuthError::invalid(
                "invalid_grace_period",
                "grace_seconds",
                "The grace period is between 0 and 90 days.",
            ));
        }
        let level = change.level.unwrap_or(Level::TwoStep);
        if level == Level::TwoStep && !change.models.is_empty() {
            return Err(AuthError::invalid(
                "models_need_keys",
                "models",
                "Allowed models apply to the phishing-resistant level only: require security keys or passkeys, or leave the list empty.",
            ));
        }
        {
            let mut c = self.store().conn().await?;
            let w = self.workspace_named(&mut c, workspace).await?;
            self.workspace_admin(&mut c, &w, &session.user.id).await?;
        }
        let (mut tx, me) = self
            .begin_action(
                Action::SetWorkspacePolicy,
                session,
                proof,
                Some(workspace),
                ctx,
            )
            .await?;
        let now = self.now();
        let w = self.workspace_named(&mut tx, workspace).await?;
        self.workspace_admin(&mut tx, &w, &me.id).await?;
        if change.level.is_some() {
            self.admin_meets(&mut tx, &me, &change.models, &w.name)
                .await?;
        }
        let current = policy::Stored {
            required_at: w.two_step_required_at,
            enforced_at: w.two_step_enforced_at,
            level: Level::stored(&w.two_step_level),
            floor_at: w.two_step_floor_at,
        };
        let after = policy::next(current, change.level, grace, now);
        let enforced = after.enforced_at;
        let models = change.models.join(" ");
        ws::set_policy(
            &mut tx,
            &w.id,
            ws::PolicyRow {
                required_at: after.required_at,
                enforced_at: after.enforced_at,
                level: after.level.as_str(),
                aaguids: &models,
                floor_at: after.floor_at,
            },
        )
        .await?;
        let detail = match enforced {
            Some(t) if models.is_empty() => {
                format!(
                    "{}: {} required from {} UTC",
                    w.name,
                    level_text(level),
                    utc(t)
                )
            }
            Some(t) => format!(
                "{}: {} required from {} UTC (models {models})",
                w.name,
                level_text(level),
                utc(t)
            ),
            None => format!("{}: no longer required", w.name),
        };
        self.audit(
            &mut tx,
            &me.id,
            now,
            Event::WorkspacePolicyChanged,
            &detail,
            ctx,
        )
        .await?;
        let mut members = Vec::new();
        for m in ws::members(&mut tx, &w.id).await? {
            if let Some(u) = users::by_id(&mut tx, &m.user_id).await? {
                members.push(u);
            }
        }
        commit(tx).await?;
        if let Some(t) = enforced {
            let rules = Rules {
                policy: policy::policy(enforced, now),
                level,
                two_step_since: None,
                models: &change.models,
                ssh_keys: SshKeyRule::Any,
                certificates_required: false,
            };
            for u in &members {
                if !self.account_meets(u, &rules).await? {
                    self.mail_policy(u, &w.name, level, t).await;
                }
            }
        }
        Ok(policy::policy(enforced, now))
    }
}
