//! Security log rows and the mails that go with security events.

use twostep_mail::Mail;
use twostep_store::{security_log, users::User, Conn};

use crate::{AuthService, Ctx, Result};

/// Every security event, as stored in the log and shown to the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    AccountCreated,
    EmailConfirmed,
    SignedIn,
    SignInFailed,
    SecondStepPassed,
    SecondFactorFailed,
    SecondStepLocked,
    RecoveryCodeUsed,
    SignedOut,
    PasswordResetRequested,
    PasswordChanged,
    SshKeyAdded,
    SshKeyRemoved,
    TwoStepSetupStarted,
    TwoStepConfirmationSent,
    TwoStepEnabled,
    TwoStepDisabled,
    AuthenticatorReplaced,
    RecoveryCodesRegenerated,
    RecoveryCodesOverSsh,
    SshPasswordFailed,
    AppPasswordCreated,
    AppPasswordRevoked,
    AppPasswordRefused,
    RepositoryCreated,
    RepositoryDeleted,
    CollaboratorChanged,
    SecurityKeyAdded,
    SecurityKeyRemoved,
    SecurityKeyConfirmed,
    PasswordThrottled,
    SecondStepFrozen,
    SecondStepUnlocked,
    SudoOpened,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::AccountCreated => "account.created",
            Event::EmailConfirmed => "email.confirmed",
            Event::SignedIn => "signin.succeeded",
            Event::SignInFailed => "signin.failed",
            Event::SecondStepPassed => "signin.second_step_passed",
            Event::SecondFactorFailed => "second_factor.failed",
            Event::SecondStepLocked => "second_step.locked",
            Event::RecoveryCodeUsed => "recovery_code.used",
            Event::SignedOut => "signout",
            Event::PasswordResetRequested => "password.reset_requested",
            Event::PasswordChanged => "password.changed",
            Event::SshKeyAdded => "ssh_key.added",
            Event::SshKeyRemoved => "ssh_key.removed",
            Event::TwoStepSetupStarted => "two_step.setup_started",
            Event::TwoStepConfirmationSent => "two_step.confirmation_sent",
            Event::TwoStepEnabled => "two_step.enabled",
            Event::TwoStepDisabled => "two_step.disabled",
            Event::AuthenticatorReplaced => "two_step.device_replaced",
            Event::RecoveryCodesRegenerated => "recovery_codes.regenerated",
            Event::RecoveryCodesOverSsh => "recovery_codes.regenerated_over_ssh",
            Event::SshPasswordFailed => "ssh.password_failed",
            Event::AppPasswordCreated => "app_password.created",
            Event::AppPasswordRevoked => "app_password.revoked",
            Event::AppPasswordRefused => "app_password.refused",
            Event::RepositoryCreated => "repository.created",
            Event::RepositoryDeleted => "repository.deleted",
            Event::CollaboratorChanged => "repository.collaborator_changed",
            Event::SecurityKeyAdded => "security_key.added",
            Event::SecurityKeyRemoved => "security_key.removed",
            Event::SecurityKeyConfirmed => "security_key.confirmed",
            Event::PasswordThrottled => "signin.throttled",
            Event::SecondStepFrozen => "second_step.frozen",
            Event::SecondStepUnlocked => "second_step.unlocked",
            Event::SudoOpened => "sudo.opened",
        }
    }
}

/// Human text for a stored event name (the log page).
pub fn describe(event: &str) -> &'static str {
    match event {
        "account.created" => "Account created",
        "email.confirmed" => "Email address confirmed",
        "signin.succeeded" => "Signed in",
        "signin.failed" => "Sign-in failed: wrong password",
        "signin.second_step_passed" => "Two-step verification passed",
        "second_factor.failed" => "Wrong two-step code",
        "second_step.locked" => "Two-step sign-in locked after too many wrong codes",
        "recovery_code.used" => "Recovery code used",
        "signout" => "Signed out",
        "password.reset_requested" => "Password reset requested",
        "password.changed" => "Password changed",
        "ssh_key.added" => "SSH key added",
        "ssh_key.removed" => "SSH key removed",
        "two_step.setup_started" => "Two-step verification setup started",
        "two_step.confirmation_sent" => "Two-step confirmation email sent",
        "two_step.enabled" => "Two-step verification turned on",
        "two_step.disabled" => "Two-step verification turned off",
        "two_step.device_replaced" => "Authenticator app replaced",
        "recovery_codes.regenerated" => "New recovery codes generated",
        "recovery_codes.regenerated_over_ssh" => "New recovery codes generated over SSH",
        "ssh.password_failed" => "Wrong password for recovery codes over SSH",
        "app_password.created" => "App password created",
        "app_password.revoked" => "App password revoked",
        "app_password.refused" => "Account password refused for Git or API (two-step is on)",
        "repository.created" => "Repository created",
        "security_key.added" => "Security key added",
        "security_key.removed" => "Security key removed",
        "security_key.confirmed" => "Identity confirmed with a security key",
        "signin.throttled" => {
            "Password sign-in paused for unknown browsers after too many wrong passwords"
        }
        "second_step.frozen" => {
            "Two-step sign-in closed after 100 wrong codes in a row (unlock link mailed)"
        }
        "second_step.unlocked" => "Two-step sign-in reopened by the mailed link",
        "sudo.opened" => "Identity confirmed for security changes",
        "repository.deleted" => "Repository deleted",
        "repository.collaborator_changed" => "Repository collaborators changed",
        _ => "Security event",
    }
}

impl AuthService {
    pub(crate) async fn audit(
        &self,
        c: &mut Conn,
        user_id: &str,
        now: i64,
        event: Event,
        detail: &str,
        ctx: &Ctx,
    ) -> Result<()> {
        tracing::info!(user = user_id, event = event.as_str(), channel = ctx.channel.as_str(), ip = %ctx.ip, "security event");
        security_log::append(
            c,
            security_log::NewEntry {
                user_id,
                at: now,
                event: event.as_str(),
                detail,
                channel: ctx.channel.as_str(),
                ip: &ctx.ip,
            },
        )
        .await?;
        Ok(())
    }

    /// Mail that must arrive for the flow to go on (links): errors surface.
    pub(crate) async fn send_required(&self, mail: Mail) -> Result<()> {
        self.inner
            .mailer
            .send(&mail)
            .await
            .map_err(crate::AuthError::MailFailed)
    }

    /// Notification of something that already happened: a failure is logged,
    /// never undoes the change.
    pub(crate) async fn notify(&self, user: &User, subject: &str, what: &str, ctx: &Ctx) {
        let s = self.settings();
        let body = format!(
            "Hello {name},\n\n{what}\n\nWhen: {when} UTC\nFrom: {ip} ({channel})\n\n\
             If this was you, there is nothing to do.\n\
             If it was not, change your password now and review your security log:\n{log}\n\n\
             -- {issuer}\n",
            name = user.username,
            when = crate::error::utc(self.now()),
            ip = ctx.ip,
            channel = ctx.channel.as_str(),
            log = self.link("/account/security-log"),
            issuer = s.issuer,
        );
        let mail = Mail {
            to: user.email.clone(),
            subject: format!("[{}] {subject}", s.issuer),
            body,
        };
        if let Err(e) = self.inner.mailer.send(&mail).await {
            tracing::error!(user = %user.id, error = %e, "could not send security notification");
        }
    }
}
