//! Administrators: who acts (a signed-in admin in sudo mode, or the server's
//! command line), the admin audit log, granting and removing the rights, and
//! the users list.
//!
//! Every admin decision goes through `admin_tx`: an app password, a
//! non-admin, or an admin whose two-step verification is off is refused
//! before anything is read, and an admin needs a fresh second factor (the
//! one sudo gate of every security change). Reads need the same.

use twostep_core::{UnixTime, UserId};
use twostep_store::admin::{self as store_admin, NewAuditEntry};
use twostep_store::users::{self, Filter, User};
use twostep_store::{Conn, Tx};

use super::Admin;
use crate::gate::Action;
use crate::notify::Event;
use crate::{commit, AuthError, AuthService, Ctx, Proof, Result, SessionInfo};

/// One administrator action: who, whom, what, why, when, from where.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: UnixTime,
    /// `None`: the server's command line.
    pub actor_id: Option<UserId>,
    pub actor: String,
    pub target_id: Option<UserId>,
    pub target: String,
    pub action: String,
    pub reason: String,
    pub channel: String,
    pub ip: String,
}

impl From<store_admin::AuditEntry> for AuditEntry {
    fn from(e: store_admin::AuditEntry) -> AuditEntry {
        AuditEntry {
            seq: e.seq,
            at: e.at,
            actor_id: e.actor_id,
            actor: e.actor,
            target_id: e.target_id,
            target: e.target,
            action: e.action,
            reason: e.reason,
            channel: e.channel,
            ip: e.ip,
        }
    }
}

/// Longest reason an admin may give.
const MAX_REASON: usize = 500;
/// Rows on one page of the users list or the audit log.
pub const PAGE_SIZE: i64 = 50;

/// Who performs an admin action.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    /// `twostep admin …` on the server: whoever may read the data folder or
    /// the database is its operator already.
    CommandLine,
    /// A signed-in administrator; `proof` opens sudo mode if it is not open.
    Admin {
        session: &'a SessionInfo,
        proof: &'a Proof,
    },
}

/// The acting side as the audit log names it.
#[derive(Debug, Clone)]
pub(crate) struct Acting {
    pub id: Option<UserId>,
    pub name: String,
}

impl Acting {
    fn command_line() -> Acting {
        Acting {
            id: None,
            name: "the server's command line".into(),
        }
    }

    /// How mail to the user names who did it.
    pub fn described(&self) -> String {
        match self.id {
            Some(_) => format!("the administrator {}", self.name),
            None => "an administrator on the server's command line".into(),
        }
    }
}

/// One admin decision: who, when, from where.
#[derive(Clone, Copy)]
pub(crate) struct Act<'a> {
    pub acting: &'a Acting,
    pub now: UnixTime,
    pub ctx: &'a Ctx,
}

/// What the admin audit log records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminAction {
    Granted,
    Revoked,
    ResetTwoStep,
    ResetRequested,
    ResetApproved,
    ResetCancelled,
    Unlocked,
    TokenAssigned,
    TokensImported,
    SessionsEnded,
}

impl AdminAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AdminAction::Granted => "admin.granted",
            AdminAction::Revoked => "admin.revoked",
            AdminAction::ResetTwoStep => "two_step.reset",
            AdminAction::ResetRequested => "two_step.reset_requested",
            AdminAction::ResetApproved => "two_step.reset_approved",
            AdminAction::ResetCancelled => "two_step.reset_cancelled",
            AdminAction::Unlocked => "second_step.unlocked",
            AdminAction::TokenAssigned => "hardware_token.assigned",
            AdminAction::TokensImported => "hardware_tokens.imported",
            AdminAction::SessionsEnded => "sessions.ended",
        }
    }
}

/// An account as the administrators' list shows it.
#[derive(Debug, Clone)]
pub struct AdminUserView {
    pub username: String,
    pub email: String,
    pub email_confirmed: bool,
    pub two_step_on: bool,
    pub is_admin: bool,
    /// Second step locked after wrong codes, or closed after 100.
    pub locked: bool,
    pub recovery_ready_at: Option<UnixTime>,
    pub two_step_reset_at: Option<UnixTime>,
    pub created_at: UnixTime,
}

impl AdminUserView {
    fn of(u: &User, now: UnixTime) -> AdminUserView {
        AdminUserView {
            username: u.username.clone(),
            email: u.email.clone(),
            email_confirmed: u.email_confirmed_at.is_some(),
            two_step_on: u.two_step_enabled_at.is_some(),
            is_admin: u.admin(),
            locked: !crate::factors::check::lock_state(u, now).is_open(),
            recovery_ready_at: u.recovery_ready_at,
            two_step_reset_at: u
                .two_step_reset_at
                .filter(|_| u.two_step_enabled_at.is_none()),
            created_at: u.created_at,
        }
    }
}

/// Filters of the users list, as front-ends parse them.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub two_step: Option<bool>,
    pub locked: bool,
    pub recovery_requested: bool,
    pub prefix: String,
    pub after: String,
}

/// The reason an admin gives: required, one line or a few, bounded.
pub(crate) fn reason(raw: &str) -> Result<String> {
    let r = raw.trim();
    if r.is_empty() {
        return Err(AuthError::invalid(
            "reason_required",
            "reason",
            "Give a reason: it is mailed to the user and kept in the admin audit log.",
        ));
    }
    if r.chars().count() > MAX_REASON {
        return Err(AuthError::invalid(
            "reason_too_long",
            "reason",
            format!("Keep the reason under {MAX_REASON} characters."),
        ));
    }
    // Several lines are fine (the form is a textarea); other control
    // characters are not.
    let r = r.replace("\r\n", "\n");
    let r = r.as_str();
    if r.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(AuthError::invalid(
            "control_characters",
            "reason",
            "Text may not contain NUL or other control characters.",
        ));
    }
    Ok(r.to_string())
}

impl AuthService {
    /// Opens the transaction of an admin decision once `actor` may act
    /// (the table's row for `action`: an administrator with two-step on and a
    /// fresh second factor).
    pub(crate) async fn admin_tx(
        &self,
        actor: &Actor<'_>,
        action: Action,
        ctx: &Ctx,
    ) -> Result<(Tx, Acting)> {
        let (session, proof) = match actor {
            Actor::CommandLine => return Ok((self.store().begin().await?, Acting::command_line())),
            Actor::Admin { session, proof } => (*session, *proof),
        };
        let (tx, me) = self.begin_action(action, session, proof, None, ctx).await?;
        Ok((
            tx,
            Acting {
                id: Some(me.id),
                name: me.username,
            },
        ))
    }

    /// One admin action in both logs: the admin audit log (with the reason)
    /// and the target's security log (`event` with `detail`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn record_admin_action(
        &self,
        c: &mut Conn,
        act: &Act<'_>,
        target: &User,
        action: AdminAction,
        reason: &str,
        event: Event,
        detail: &str,
    ) -> Result<()> {
        let Act { acting, now, ctx } = *act;
        tracing::info!(actor = %acting.name, target = %target.username, action = action.as_str(), channel = ctx.channel.as_str(), ip = %ctx.ip, "admin action");
        store_admin::append(
            c,
            NewAuditEntry {
                at: now,
                actor_id: acting.id.as_ref(),
                actor: &acting.name,
                target_id: Some(&target.id),
                target: &target.username,
                action: action.as_str(),
                reason,
                channel: ctx.channel.as_str(),
                ip: &ctx.ip,
            },
        )
        .await?;
        self.audit(c, &target.id, now, event, detail, ctx).await
    }

    pub(crate) async fn target_user(&self, c: &mut Conn, username: &str) -> Result<User> {
        let name: String = username.trim().to_ascii_lowercase();
        let shown: String = name.chars().filter(|c| !c.is_control()).take(64).collect();
        if name.is_empty() || name.len() > 64 {
            return Err(AuthError::UnknownUser(shown));
        }
        users::by_username(c, &name)
            .await?
            .ok_or(AuthError::UnknownUser(shown))
    }

    async fn set_admin_rights(
        &self,
        actor: &Actor<'_>,
        username: &str,
        reason_given: &str,
        grant: bool,
        ctx: &Ctx,
    ) -> Result<AdminUserView> {
        let (mut tx, acting) = self.admin_tx(actor, Action::AdminAct, ctx).await?;
        let target = self.target_user(&mut tx, username).await?;
        let name = &target.username;
        match (grant, target.admin()) {
            (true, true) => {
                return Err(AuthError::Conflict(format!(
                    "{name} is an administrator already."
                )))
            }
            (false, false) => {
                return Err(AuthError::Conflict(format!(
                    "{name} is not an administrator."
                )))
            }
            _ => {}
        }
        if grant && target.two_step_enabled_at.is_none() {
            return Err(AuthError::Conflict(format!(
                "{name} must turn on two-step verification before becoming an administrator."
            )));
        }
        if !grant && acting.id.as_ref() == Some(&target.id) {
            return Err(AuthError::Forbidden(
                "You cannot remove your own administrator rights: ask another administrator, or use `twostep admin revoke` on the server.".into(),
            ));
        }
        // Taking the right away is mailed to every administrator with its
        // reason, like a reset.
        let why: String = if grant {
            reason_given.trim().chars().take(MAX_REASON).collect()
        } else {
            reason(reason_given)?
        };
        let now = self.now();
        users::set_admin(&mut tx, &target.id, grant, acting.id.as_ref(), now).await?;
        let others: Vec<User> = users::admins(&mut tx)
            .await?
            .into_iter()
            .filter(|a| a.id != target.id && Some(&a.id) != acting.id.as_ref())
            .collect();
        let (action, event) = if grant {
            (AdminAction::Granted, Event::AdminGranted)
        } else {
            (AdminAction::Revoked, Event::AdminRevoked)
        };
        let act = Act {
            acting: &acting,
            now,
            ctx,
        };
        self.record_admin_action(
            &mut tx,
            &act,
            &target,
            action,
            &why,
            event,
            &format!("by {}", acting.name),
        )
        .await?;
        commit(tx).await?;
        let who = capitalised(&acting.described());
        let (subject, what) = if grant {
            (
                "You are now an administrator",
                format!(
                    "{who} made you an administrator of this server. Every administrator action asks for \
                     a fresh two-step code and lands in the admin audit log."
                ),
            )
        } else {
            (
                "You are no longer an administrator",
                format!(
                    "{who} removed your administrator rights on this server.\n\nReason given: {why}\n\n\
                     Your second factors stay as they are: an administrator reset of them still needs two \
                     administrators. If you did not expect this, tell the other administrators now."
                ),
            )
        };
        self.notify(&target, subject, &what, ctx).await;
        for admin in &others {
            let what = if grant {
                format!("{who} made {name} an administrator of this server.")
            } else {
                format!("{who} removed the administrator rights of {name}.\n\nReason given: {why}")
            };
            let subject = if grant {
                "An administrator was added"
            } else {
                "An administrator's rights were removed"
            };
            self.notify(admin, subject, &what, ctx).await;
        }
        let mut c = self.store().conn().await?;
        let row = users::by_id(&mut c, &target.id)
            .await?
            .ok_or(AuthError::NotFound)?;
        Ok(AdminUserView::of(&row, now))
    }
}

impl Admin<'_> {
    /// Makes `username` an administrator; they must have two-step on.
    pub async fn grant_admin(
        &self,
        actor: &Actor<'_>,
        username: &str,
        reason: &str,
        ctx: &Ctx,
    ) -> Result<AdminUserView> {
        self.set_admin_rights(actor, username, reason, true, ctx)
            .await
    }

    /// Takes administrator rights away (never one's own on the pages or API).
    pub async fn revoke_admin(
        &self,
        actor: &Actor<'_>,
        username: &str,
        reason: &str,
        ctx: &Ctx,
    ) -> Result<AdminUserView> {
        self.set_admin_rights(actor, username, reason, false, ctx)
            .await
    }

    /// One page of accounts by username.
    pub async fn admin_users(
        &self,
        actor: &Actor<'_>,
        filter: &UserFilter,
        ctx: &Ctx,
    ) -> Result<Vec<AdminUserView>> {
        let (mut tx, _) = self.admin_tx(actor, Action::AdminRead, ctx).await?;
        let now = self.now();
        let rows = users::list(
            &mut tx,
            &Filter {
                two_step: filter.two_step,
                locked: filter.locked,
                recovery_requested: filter.recovery_requested,
                prefix: filter.prefix.trim().to_ascii_lowercase(),
                after: filter.after.trim().to_ascii_lowercase(),
            },
            now,
            PAGE_SIZE,
        )
        .await?;
        commit(tx).await?;
        Ok(rows.iter().map(|u| AdminUserView::of(u, now)).collect())
    }

    /// One account, for its admin page.
    pub async fn admin_user(
        &self,
        actor: &Actor<'_>,
        username: &str,
        ctx: &Ctx,
    ) -> Result<AdminUserView> {
        let (mut tx, _) = self.admin_tx(actor, Action::AdminRead, ctx).await?;
        let u = self.target_user(&mut tx, username).await?;
        commit(tx).await?;
        Ok(AdminUserView::of(&u, self.now()))
    }

    /// The admin audit log, newest first, before `before` (a `seq`).
    pub async fn admin_audit(
        &self,
        actor: &Actor<'_>,
        before: Option<i64>,
        limit: i64,
        ctx: &Ctx,
    ) -> Result<Vec<AuditEntry>> {
        let (mut tx, _) = self.admin_tx(actor, Action::AdminRead, ctx).await?;
        let rows = store_admin::audit_page(&mut tx, before, limit.clamp(1, 1000)).await?;
        commit(tx).await?;
        Ok(rows.into_iter().map(AuditEntry::from).collect())
    }
}

pub(crate) fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_is_required_bounded_and_printable() {
        assert_eq!(
            reason("  lost phone, id checked \n").unwrap(),
            "lost phone, id checked"
        );
        assert_eq!(reason("   ").unwrap_err().code(), "reason_required");
        assert_eq!(
            reason(&"x".repeat(501)).unwrap_err().code(),
            "reason_too_long"
        );
        assert_eq!(reason("a\0b").unwrap_err().code(), "control_characters");
        assert_eq!(reason("line\r\nline").unwrap(), "line\nline");
        assert_eq!(reason("a\rb").unwrap_err().code(), "control_characters");
    }
}
