//! Changing the password or the email address while signed in. Both are
//! security changes (sudo: the current password while two-step is off, a
//! code while on). A new address is used only once its owner follows the
//! link mailed to it; the old address is told either way.

use twostep_store::{sessions, users};

use super::Accounts;
use crate::accounts::signup::{mail_address, CONFIRM_TTL};
use crate::gate::Action;
use crate::links::mailed::{self as links, Holder, Purpose};
use crate::notify::Event;
use crate::signin::sudo::Proof;
use crate::{commit, Account, AuthError, Ctx, Result, SessionInfo};

/// A wrong current password is named next to its field.
fn wrong_current(e: AuthError) -> AuthError {
    match e {
        AuthError::BadCredentials => AuthError::invalid(
            "wrong_password",
            "current_password",
            "That is not your current password.",
        ),
        other => other,
    }
}

impl Accounts<'_> {
    /// Sets a new password; every other session of the account ends. The
    /// current password is asked as well (when the account has one), besides
    /// the action's own proof: a code while two-step verification is on.
    /// `current` may also come as the proof (`Proof::Password`), as the
    /// current password was the proof while two-step is off.
    pub async fn change_password(
        &self,
        session: &SessionInfo,
        current: Option<&str>,
        new_password: &str,
        proof: &Proof,
        ctx: &Ctx,
    ) -> Result<()> {
        let u = &session.user;
        self.check_new_password(new_password, &u.username, &u.email)
            .await?;
        let current = current.filter(|c| !c.is_empty()).or(match proof {
            Proof::Password(p) => Some(p.as_str()),
            _ => None,
        });
        if u.has_password && current.is_none() {
            return Err(AuthError::invalid(
                "current_password_required",
                "current_password",
                "Enter your current password as well.",
            ));
        }
        // While two-step is off the current password is the action's proof,
        // checked (and counted) by the gate even in sudo mode: one hash.
        // While it is on, the password is checked after the gate's code.
        let two_step_on = u.two_step_enabled_at.is_some();
        let gate_proof = match (current, proof) {
            (Some(c), _) if !two_step_on => Proof::Password(c.to_string()),
            (_, Proof::Password(_)) => Proof::None,
            _ => proof.clone(),
        };
        // The gate first: a caller without a proof costs no Argon2 hash.
        let (tx, user) = self
            .begin_action(Action::ChangePassword, session, &gate_proof, None, ctx)
            .await
            .map_err(wrong_current)?;
        commit(tx).await?;
        if let (Some(c), true) = (current, two_step_on) {
            self.check_password(&user, c, ctx)
                .await
                .map_err(wrong_current)?;
        }
        let hash = self.hasher().hash(new_password).await?;
        let mut tx = self.store().begin().await?;
        let now = self.now();
        users::set_password(&mut tx, &user.id, &hash).await?;
        sessions::delete_for_user(&mut tx, &user.id, session.token_hash()).await?;
        self.audit(
            &mut tx,
            &user.id,
            now,
            Event::PasswordChanged,
            "changed while signed in",
            ctx,
        )
        .await?;
        commit(tx).await?;
        self.notify(
            &user,
            "Your password was changed",
            "Your account password was changed while signed in, and your other sessions were signed out. \
             If this was not you, reset your password by email at once.",
            ctx,
        )
        .await;
        Ok(())
    }

    /// Mails a confirmation link to `new_email`; nothing changes until it is
    /// followed. Returns the address written to.
    pub async fn request_email_change(
        &self,
        session: &SessionInfo,
        new_email: &str,
        proof: &Proof,
        ctx: &Ctx,
    ) -> Result<String> {
        let email = mail_address(new_email)?;
        if email.eq_ignore_ascii_case(&session.user.email) {
            return Err(AuthError::invalid(
                "same_email",
                "email",
                "That is your address already.",
            ));
        }
        let (mut tx, user) = self
            .begin_action(Action::ChangeEmail, session, proof, None, ctx)
            .await?;
        if users::by_email(&mut tx, &email).await?.is_some() {
            return Err(AuthError::invalid(
                "email_taken",
                "email",
                "Another account uses that address.",
            ));
        }
        let now = self.now();
        let link = self
            .new_link(
                &mut tx,
                &user.id,
                Purpose::ChangeEmail,
                &email,
                now,
                CONFIRM_TTL,
            )
            .await?;
        self.audit(
            &mut tx,
            &user.id,
            now,
            Event::EmailChangeRequested,
            &email,
            ctx,
        )
        .await?;
        commit(tx).await?;
        self.send_link_mail(
            &email,
            &user.username,
            "Confirm your new email address",
            &format!(
                "To use this address for your account, open this link (valid for 24 hours):\n\n{link}\n\n\
                 If you did not ask for this, ignore this mail."
            ),
        )
        .await?;
        self.notify(
            &user,
            "A change of your email address was requested",
            &format!(
                "Someone signed in to your account asked to use {email} instead of this address. \
                 Nothing changes unless the link sent there is opened. If this was not you, change your password."
            ),
            ctx,
        )
        .await;
        Ok(email)
    }

    /// Follows the link mailed to the new address: the account uses it from now on.
    pub async fn confirm_email_change(&self, raw_token: &str, ctx: &Ctx) -> Result<Account> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let t = links::redeem(
            &mut tx,
            raw_token,
            Purpose::ChangeEmail,
            Holder::Anyone,
            now,
        )
        .await?;
        let old = users::by_id(&mut tx, &t.user_id)
            .await?
            .ok_or(AuthError::LinkInvalid)?;
        users::set_email(&mut tx, &old.id, &t.subject, now)
            .await
            .map_err(|e| match AuthError::from(e) {
                AuthError::Conflict(_) => AuthError::Conflict(
                    "Another account started using that address meanwhile.".into(),
                ),
                other => other,
            })?;
        let detail = format!("{} -> {}", old.email, t.subject);
        self.audit(&mut tx, &old.id, now, Event::EmailChanged, &detail, ctx)
            .await?;
        commit(tx).await?;
        let what = format!(
            "The email address of your account changed from {} to {}. If this was not you, reset your password by email.",
            old.email, t.subject
        );
        // Both addresses hear of it: the old one may belong to the real owner.
        self.notify(&old, "Your email address was changed", &what, ctx)
            .await;
        let user = self.user_row(&old.id).await?;
        self.notify(&user, "Your email address was changed", &what, ctx)
            .await;
        Ok(user.into())
    }
}
