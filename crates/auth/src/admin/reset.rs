//! The administrators' ways to let a user back in: resetting two-step
//! verification (a reason required, never one's own, and one admin's reset of
//! another admin waits for a second admin's approval) and unlocking a locked
//! second step. Each lands in the admin audit log and the user's security
//! log, and mails the user.

use twostep_core::two_person::{self, AdminFacts, NotApprover};
use twostep_core::{token, UnixTime, UserId};
use twostep_store::admin::{self as store_admin, Approval, ApprovalAction, ApprovalOutcome};
use twostep_store::recovery_requests::{self as requests, Outcome};
use twostep_store::users::{self, User};
use twostep_store::{authenticators, recovery_codes, security_keys, Conn};

use super::Admin;
use crate::admin::users::{capitalised, reason, Act, Acting, Actor, AdminAction};
use crate::error::utc;
use crate::gate::Action;
use crate::notify::Event;
use crate::{commit, rng, AuthError, AuthService, Ctx, Result};

/// How long a reset of an administrator waits for a second administrator.
pub const APPROVAL_TTL: i64 = 24 * 3600;

#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum ResetOutcome {
    /// Done: the user's next sign-in goes into setting up two-step.
    Reset,
    /// The user is an administrator: another administrator must approve.
    AwaitingApproval {
        approval_id: String,
        expires_at: UnixTime,
    },
}

/// A reset waiting for a second administrator.
#[derive(Debug, Clone)]
pub struct ApprovalView {
    pub id: String,
    pub target: String,
    pub requested_by: String,
    pub reason: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

/// Removes every second factor of the account and ends every credential
/// (sessions, app passwords, OAuth grants, mailed links): two-step is off
/// afterwards. Shared by an admin reset and a completed self-service recovery.
pub(crate) async fn remove_second_factors(c: &mut Conn, user: &User, now: UnixTime) -> Result<()> {
    authenticators::delete_all(c, &user.id).await?;
    security_keys::delete_all(c, &user.id).await?;
    recovery_codes::delete_all(c, &user.id).await?;
    users::set_two_step(c, &user.id, None).await?;
    users::set_codes_check(c, &user.id, None).await?;
    users::reset_factor_failures(c, &user.id).await?;
    crate::credentials::revoke::end_credentials(c, user, now, None).await?;
    Ok(())
}

/// Why this administrator cannot be the second person, as they are told.
fn not_approver(n: NotApprover) -> AuthError {
    AuthError::Forbidden(
        match n {
            NotApprover::NotAdmin => "Only administrators can approve.",
            NotApprover::Requester => "A second administrator must approve this: you asked for it.",
            NotApprover::Target => "You cannot approve the reset of your own two-step verification.",
            NotApprover::TooNew => {
                "You became an administrator after this request was made: an administrator who held the right before it must approve."
            }
            NotApprover::GrantedByRequester => {
                "Your administrator right comes from the one who asked (they, or someone they made an administrator, granted it): another administrator must approve."
            }
            NotApprover::MadeTheRequester => {
                "The one who asked has their administrator right from you (or from someone you made an administrator): another administrator must approve."
            }
        }
        .into(),
    )
}

impl AuthService {
    /// How `id` came by its administrator right.
    pub(crate) async fn admin_facts(&self, c: &mut Conn, id: &UserId) -> Result<AdminFacts> {
        let r = users::admin_record(c, id)
            .await?
            .ok_or(AuthError::NotFound)?;
        Ok(AdminFacts {
            is_admin: r.is_admin,
            since: r.admin_since,
            first_at: r.admin_first_at,
        })
    }

    /// Everyone from whom `id`'s administrator right descends, through
    /// every grant ever made (bounded).
    async fn admin_line(&self, c: &mut Conn, id: &UserId) -> Result<Vec<UserId>> {
        let mut line: Vec<UserId> = Vec::new();
        let mut todo = vec![id.clone()];
        while let Some(at) = todo.pop() {
            for by in users::admin_granters(c, &at).await? {
                if by != *id && !line.contains(&by) && line.len() < 1000 {
                    line.push(by.clone());
                    todo.push(by);
                }
            }
        }
        Ok(line)
    }

    async fn reset_in(
        &self,
        c: &mut Conn,
        target: &User,
        act: &Act<'_>,
        action: AdminAction,
        why: &str,
    ) -> Result<()> {
        let Act { acting, now, .. } = *act;
        remove_second_factors(c, target, now).await?;
        users::mark_two_step_reset(c, &target.id, now).await?;
        if let Some(r) = requests::open_for(c, &target.id).await? {
            requests::end(c, &r, Outcome::Cancelled, "administrator reset", now).await?;
        }
        self.record_admin_action(
            c,
            act,
            target,
            action,
            why,
            Event::TwoStepResetByAdmin,
            &format!("by {}: {why}", acting.name),
        )
        .await
    }

    async fn mail_reset(&self, target: &User, acting: &Acting, why: &str, ctx: &Ctx) {
        let what = format!(
            "{} reset two-step verification on your account.\n\nReason given: {why}\n\n\
             Your authenticators, security keys and recovery codes were removed, your app passwords \
             and authorised applications revoked and every session signed out. Your password and SSH keys are unchanged.\n\
             Sign in with your password: you will be taken to setting up two-step verification again.\n\n\
             If you did not ask for this, contact the administrators at once.",
            capitalised(&acting.described())
        );
        self.notify(
            target,
            "Two-step verification reset by an administrator",
            &what,
            ctx,
        )
        .await;
    }

    async fn mail_reset_requested(
        &self,
        target: &User,
        others: &[User],
        acting: &Acting,
        why: &str,
        ctx: &Ctx,
    ) {
        let what = format!(
            "{} asked to reset two-step verification on your account.\n\nReason given: {why}\n\n\
             Because you are an administrator, it happens only once a second administrator \
             approves it (within 24 hours). If you did not ask for this, tell the other \
             administrators now.",
            capitalised(&acting.described())
        );
        self.notify(
            target,
            "Reset of your two-step verification requested",
            &what,
            ctx,
        )
        .await;
        let link = self.link("/admin/approvals");
        for admin in others {
            let what = format!(
                "{} asked to reset two-step verification of the administrator {}.\n\n\
                 Reason given: {why}\n\nIt needs a second administrator's approval within 24 hours:\n{link}",
                capitalised(&acting.described()),
                target.username
            );
            self.notify(
                admin,
                "An administrator reset needs your approval",
                &what,
                ctx,
            )
            .await;
        }
    }

    async fn approval_view(&self, c: &mut Conn, a: Approval) -> Result<ApprovalView> {
        let name = |u: Option<User>| u.map(|u| u.username).unwrap_or_default();
        Ok(ApprovalView {
            target: name(users::by_id(c, &a.target_id).await?),
            requested_by: name(users::by_id(c, &a.requested_by).await?),
            id: a.id,
            reason: a.reason,
            created_at: a.created_at,
            expires_at: a.expires_at,
        })
    }
}

impl Admin<'_> {
    /// Resets `username`'s two-step verification for a user who lost every
    /// factor.
    pub async fn admin_reset_two_step(
        &self,
        actor: &Actor<'_>,
        username: &str,
        reason_given: &str,
        ctx: &Ctx,
    ) -> Result<ResetOutcome> {
        let why = reason(reason_given)?;
        let (mut tx, acting) = self.admin_tx(actor, Action::AdminAct, ctx).await?;
        let target = self.target_user(&mut tx, username).await?;
        users::lock_row(&mut tx, &target.id).await?;
        if acting.id.as_ref() == Some(&target.id) {
            return Err(AuthError::Forbidden(
                "You cannot reset your own two-step verification: ask another administrator."
                    .into(),
            ));
        }
        if target.two_step_enabled_at.is_none() {
            return Err(AuthError::Conflict(format!(
                "Two-step verification is already off for {}.",
                target.username
            )));
        }
        let now = self.now();
        let protected = two_person::protected(&self.admin_facts(&mut tx, &target.id).await?);
        if let (true, Some(requester)) = (protected, acting.id.clone()) {
            store_admin::expire(&mut tx, now).await?;
            let approval = Approval {
                id: token::new_id(&mut rng()),
                action: ApprovalAction::ResetTwoStep,
                target_id: target.id.clone(),
                requested_by: requester,
                reason: why.clone(),
                created_at: now,
                expires_at: now + APPROVAL_TTL,
            };
            store_admin::request(&mut tx, &approval)
                .await
                .map_err(|e| match AuthError::from(e) {
                    AuthError::Conflict(_) => AuthError::Conflict(format!(
                        "A reset of {} is waiting for approval already.",
                        target.username
                    )),
                    other => other,
                })?;
            self.record_admin_action(
                &mut tx,
                &Act {
                    acting: &acting,
                    now,
                    ctx,
                },
                &target,
                AdminAction::ResetRequested,
                &why,
                Event::TwoStepResetRequested,
                &format!("by {}: {why}", acting.name),
            )
            .await?;
            let others: Vec<User> = users::admins(&mut tx)
                .await?
                .into_iter()
                .filter(|a| a.id != target.id && Some(&a.id) != acting.id.as_ref())
                .collect();
            commit(tx).await?;
            self.mail_reset_requested(&target, &others, &acting, &why, ctx)
                .await;
            return Ok(ResetOutcome::AwaitingApproval {
                approval_id: approval.id,
                expires_at: approval.expires_at,
            });
        }
        self.reset_in(
            &mut tx,
            &target,
            &Act {
                acting: &acting,
                now,
                ctx,
            },
            AdminAction::ResetTwoStep,
            &why,
        )
        .await?;
        commit(tx).await?;
        self.mail_reset(&target, &acting, &why, ctx).await;
        Ok(ResetOutcome::Reset)
    }

    /// Resets waiting for a second administrator.
    pub async fn admin_approvals(&self, actor: &Actor<'_>, ctx: &Ctx) -> Result<Vec<ApprovalView>> {
        let (mut tx, _) = self.admin_tx(actor, Action::AdminRead, ctx).await?;
        let now = self.now();
        store_admin::expire(&mut tx, now).await?;
        let mut out = Vec::new();
        for a in store_admin::open(&mut tx, now).await? {
            out.push(self.approval_view(&mut tx, a).await?);
        }
        commit(tx).await?;
        Ok(out)
    }

    /// A second administrator approves a waiting reset: it happens now.
    pub async fn approve_admin_reset(
        &self,
        actor: &Actor<'_>,
        approval_id: &str,
        ctx: &Ctx,
    ) -> Result<ApprovalView> {
        let (mut tx, acting) = self.admin_tx(actor, Action::AdminAct, ctx).await?;
        let now = self.now();
        let a = store_admin::open_by_id(&mut tx, approval_id.get(..64).unwrap_or(approval_id), now)
            .await?
            .ok_or(AuthError::LinkInvalid)?;
        let approver = acting.id.clone();
        if let Some(me) = &approver {
            let facts = self.admin_facts(&mut tx, me).await?;
            let my_line = self.admin_line(&mut tx, me).await?;
            let their_line = self.admin_line(&mut tx, &a.requested_by).await?;
            two_person::may_approve(
                (me, &facts),
                &my_line,
                &a.requested_by,
                &their_line,
                &a.target_id,
                a.created_at,
            )
            .map_err(not_approver)?;
        }
        let target = users::by_id(&mut tx, &a.target_id)
            .await?
            .ok_or(AuthError::NotFound)?;
        users::lock_row(&mut tx, &target.id).await?;
        if !store_admin::decide(
            &mut tx,
            &a.id,
            approver.as_ref(),
            ApprovalOutcome::Approved,
            now,
        )
        .await?
        {
            return Err(AuthError::LinkInvalid);
        }
        let view = self.approval_view(&mut tx, a.clone()).await?;
        let why = format!(
            "{} (asked by {}, approved by {})",
            a.reason, view.requested_by, acting.name
        );
        self.reset_in(
            &mut tx,
            &target,
            &Act {
                acting: &acting,
                now,
                ctx,
            },
            AdminAction::ResetApproved,
            &why,
        )
        .await?;
        commit(tx).await?;
        self.mail_reset(&target, &acting, &why, ctx).await;
        Ok(view)
    }

    /// Withdraws or refuses a waiting reset (any administrator, the asker included).
    pub async fn cancel_admin_reset(
        &self,
        actor: &Actor<'_>,
        approval_id: &str,
        ctx: &Ctx,
    ) -> Result<ApprovalView> {
        let (mut tx, acting) = self.admin_tx(actor, Action::AdminAct, ctx).await?;
        let now = self.now();
        let a = store_admin::open_by_id(&mut tx, approval_id.get(..64).unwrap_or(approval_id), now)
            .await?
            .ok_or(AuthError::LinkInvalid)?;
        let target = users::by_id(&mut tx, &a.target_id)
            .await?
            .ok_or(AuthError::NotFound)?;
        if !store_admin::decide(
            &mut tx,
            &a.id,
            acting.id.as_ref(),
            ApprovalOutcome::Cancelled,
            now,
        )
        .await?
        {
            return Err(AuthError::LinkInvalid);
        }
        let view = self.approval_view(&mut tx, a.clone()).await?;
        self.record_admin_action(
            &mut tx,
            &Act {
                acting: &acting,
                now,
                ctx,
            },
            &target,
            AdminAction::ResetCancelled,
            &a.reason,
            Event::TwoStepResetCancelled,
            &format!("by {}", acting.name),
        )
        .await?;
        commit(tx).await?;
        self.notify(
            &target,
            "Reset of your two-step verification cancelled",
            &format!(
                "{} cancelled the request to reset your two-step verification. Nothing was changed.",
                capitalised(&acting.described())
            ),
            ctx,
        )
        .await;
        Ok(view)
    }

    /// Reopens a second step locked after wrong codes (or closed after 100).
    pub async fn admin_unlock(
        &self,
        actor: &Actor<'_>,
        username: &str,
        reason_given: &str,
        ctx: &Ctx,
    ) -> Result<()> {
        let why = reason(reason_given)?;
        let (mut tx, acting) = self.admin_tx(actor, Action::AdminAct, ctx).await?;
        let target = self.target_user(&mut tx, username).await?;
        users::lock_row(&mut tx, &target.id).await?;
        let now = self.now();
        let was = crate::factors::check::lock_state(&target, now);
        if was.is_open() {
            return Err(AuthError::Conflict(format!(
                "Two-step sign-in of {} is not locked.",
                target.username
            )));
        }
        users::reset_factor_failures(&mut tx, &target.id).await?;
        self.record_admin_action(
            &mut tx,
            &Act {
                acting: &acting,
                now,
                ctx,
            },
            &target,
            AdminAction::Unlocked,
            &why,
            Event::SecondStepUnlockedByAdmin,
            &format!("by {}: {why}", acting.name),
        )
        .await?;
        commit(tx).await?;
        let was = match was {
            twostep_core::lockout::LockState::Locked { until } => {
                format!(" (it was locked until {} UTC)", utc(until))
            }
            _ => String::new(),
        };
        self.notify(
            &target,
            "Two-step sign-in unlocked by an administrator",
            &format!(
                "{} unlocked two-step sign-in on your account{was}.\n\nReason given: {why}\n\n\
                 Your authenticators and recovery codes are unchanged. Someone typed many wrong codes: \
                 if it was not you, change your password now.",
                capitalised(&acting.described())
            ),
            ctx,
        )
        .await;
        Ok(())
    }

    /// Ends every session of a user (ASVS 7.4.5): audited, and the owner is told.
    pub async fn admin_end_sessions(
        &self,
        actor: &Actor<'_>,
        username: &str,
        reason_given: &str,
        ctx: &Ctx,
    ) -> Result<u64> {
        let why = reason(reason_given)?;
        let (mut tx, acting) = self.admin_tx(actor, Action::AdminAct, ctx).await?;
        let target = self.target_user(&mut tx, username).await?;
        let now = self.now();
        let n = twostep_store::sessions::delete_for_user(&mut tx, &target.id, None).await?;
        self.record_admin_action(
            &mut tx,
            &Act {
                acting: &acting,
                now,
                ctx,
            },
            &target,
            AdminAction::SessionsEnded,
            &why,
            Event::SessionsEndedByAdmin,
            &format!("{n} by {}: {why}", acting.name),
        )
        .await?;
        commit(tx).await?;
        self.notify(
            &target,
            "Your sessions were ended by an administrator",
            &format!(
                "{} signed your account out of every browser ({n} sessions).\n\nReason given: {why}\n\n\
                 Sign in again to go on. Your password, authenticators, keys and app passwords are unchanged.",
                capitalised(&acting.described())
            ),
            ctx,
        )
        .await;
        Ok(n)
    }
}
