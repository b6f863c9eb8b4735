//! "Require two-step verification": a workspace admin turns it on with a
//! grace period; members without two-step are mailed and, after it, reach
//! none of the workspace's repositories until they turn it on.

use twostep_core::workspace::{self as policy, Policy, DEFAULT_GRACE, MAX_GRACE};
use twostep_core::UnixTime;
use twostep_store::users::{self, User};
use twostep_store::workspaces::{self as ws};

use super::Workspaces;
use crate::error::utc;
use crate::gate::Action;
use crate::notify::Event;
use crate::{commit, AuthError, AuthService, Ctx, Proof, Result, SessionInfo};

impl AuthService {
    pub(super) async fn mail_policy(&self, user: &User, workspace: &str, from: UnixTime) {
        let what = format!(
            "The workspace {workspace} requires two-step verification from {} UTC, and yours is off.\n\n\
             Turn it on before then: {}\n\n\
             Until then nothing changes. After it, you cannot reach {workspace}'s repositories \
             (SSH, HTTPS, pages and API, app passwords included) until you turn it on; \
             nothing is removed.",
            utc(from),
            self.link("/account/two-step")
        );
        self.notify(
            user,
            "A workspace requires two-step verification",
            &what,
            &crate::Ctx::new(crate::Channel::Web, "server"),
        )
        .await;
    }
}

/// A workspace that requires two-step verification of an account that has
/// it off, and from when.
#[derive(Debug, Clone)]
pub struct WorkspaceDeadline {
    pub workspace: String,
    pub from: UnixTime,
}

impl Workspaces<'_> {
    /// Workspaces whose policy will lock this account out, with when: for the
    /// banner and mail while two-step is off.
    pub async fn two_step_deadlines(
        &self,
        user: &crate::Account,
    ) -> Result<Vec<WorkspaceDeadline>> {
        if user.two_step_on() {
            return Ok(Vec::new());
        }
        Ok(self
            .workspaces_of(&user.id)
            .await?
            .into_iter()
            .filter_map(|m| match m.policy {
                Policy::Off => None,
                Policy::Grace { until } => Some(WorkspaceDeadline {
                    workspace: m.name,
                    from: until,
                }),
                Policy::Enforced { since } => Some(WorkspaceDeadline {
                    workspace: m.name,
                    from: since,
                }),
            })
            .collect())
    }

    /// Turns "require two-step verification" on (with a grace period, default
    /// 7 days) or off. A security setting: it needs the admin's fresh factor.
    pub async fn set_workspace_two_step_policy(
        &self,
        session: &SessionInfo,
        workspace: &str,
        require: bool,
        grace_seconds: Option<i64>,
        proof: &Proof,
        ctx: &Ctx,
    ) -> Result<Policy> {
        let grace = grace_seconds.unwrap_or(DEFAULT_GRACE);
        if !(0..=MAX_GRACE).contains(&grace) {
            return Err(AuthError::invalid(
                "invalid_grace_period",
                "grace_seconds",
                "The grace period is between 0 and 90 days.",
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
        let (required, enforced) = if require {
            (Some(now), Some(now + grace))
        } else {
            (None, None)
        };
        ws::set_policy(&mut tx, &w.id, required, enforced).await?;
        let detail = match enforced {
            Some(t) => format!("{}: required from {} UTC", w.name, utc(t)),
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
        let without: Vec<User> = {
            let mut out = Vec::new();
            for m in ws::members(&mut tx, &w.id).await? {
                if m.two_step_enabled_at.is_none() {
                    if let Some(u) = users::by_id(&mut tx, &m.user_id).await? {
                        out.push(u);
                    }
                }
            }
            out
        };
        commit(tx).await?;
        if let Some(t) = enforced {
            for u in &without {
                self.mail_policy(u, &w.name, t).await;
            }
        }
        Ok(policy::policy(enforced, now))
    }
}
