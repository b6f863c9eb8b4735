//! Security log rows and the mails that go with security events.

use twostep_core::{UnixTime, UserId};
use twostep_mail::Mail;
use twostep_store::{security_log, Conn};

use crate::account::Addressee;
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
    EmailChangeRequested,
    EmailChanged,
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
            Event::EmailChangeRequested => "email.change_requested",
            Event::EmailChanged => "email.changed",
        }
    }
}

impl Event {
    /// Every event, for parsing stored names back.
    pub const ALL: [Event; 36] = [
        Event::EmailChangeRequested,
        Event::EmailChanged,
        Event::AccountCreated,
        Event::EmailConfirmed,
        Event::SignedIn,
        Event::SignInFailed,
        Event::SecondStepPassed,
        Event::SecondFactorFailed,
        Event::SecondStepLocked,
        Event::RecoveryCodeUsed,
        Event::SignedOut,
        Event::PasswordResetRequested,
        Event::PasswordChanged,
        Event::SshKeyAdded,
        Event::SshKeyRemoved,
        Event::TwoStepSetupStarted,
        Event::TwoStepConfirmationSent,
        Event::TwoStepEnabled,
        Event::TwoStepDisabled,
        Event::AuthenticatorReplaced,
        Event::RecoveryCodesRegenerated,
        Event::RecoveryCodesOverSsh,
        Event::SshPasswordFailed,
        Event::AppPasswordCreated,
        Event::AppPasswordRevoked,
        Event::AppPasswordRefused,
        Event::RepositoryCreated,
        Event::RepositoryDeleted,
        Event::CollaboratorChanged,
        Event::SecurityKeyAdded,
        Event::SecurityKeyRemoved,
        Event::SecurityKeyConfirmed,
        Event::PasswordThrottled,
        Event::SecondStepFrozen,
        Event::SecondStepUnlocked,
        Event::SudoOpened,
    ];

    /// Human text for the log page; exhaustive, so a new event must say
    /// what it means.
    pub fn describe(self) -> &'static str {
        match self {
            Event::AccountCreated => "Account created",
            Event::EmailConfirmed => "Email address confirmed",
            Event::SignedIn => "Signed in",
            Event::SignInFailed => "Sign-in failed: wrong password",
            Event::SecondStepPassed => "Two-step verification passed",
            Event::SecondFactorFailed => "Wrong two-step code",
            Event::SecondStepLocked => "Two-step sign-in locked after too many wrong codes",
            Event::RecoveryCodeUsed => "Recovery code used",
            Event::SignedOut => "Signed out",
            Event::PasswordResetRequested => "Password reset requested",
            Event::PasswordChanged => "Password changed",
            Event::SshKeyAdded => "SSH key added",
            Event::SshKeyRemoved => "SSH key removed",
            Event::TwoStepSetupStarted => "Two-step verification setup started",
            Event::TwoStepConfirmationSent => "Two-step confirmation email sent",
            Event::TwoStepEnabled => "Two-step verification turned on",
            Event::TwoStepDisabled => "Two-step verification turned off",
            Event::AuthenticatorReplaced => "Authenticator app replaced",
            Event::RecoveryCodesRegenerated => "New recovery codes generated",
            Event::RecoveryCodesOverSsh => "New recovery codes generated over SSH",
            Event::SshPasswordFailed => "Wrong password for recovery codes over SSH",
            Event::AppPasswordCreated => "App password created",
            Event::AppPasswordRevoked => "App password revoked",
            Event::AppPasswordRefused => "Account password refused for Git or API (two-step is on)",
            Event::RepositoryCreated => "Repository created",
            Event::SecurityKeyAdded => "Security key added",
            Event::SecurityKeyRemoved => "Security key removed",
            Event::SecurityKeyConfirmed => "Identity confirmed with a security key",
            Event::PasswordThrottled => {
                "Password sign-in paused for unknown browsers after too many wrong passwords"
            }
            Event::SecondStepFrozen => {
                "Two-step sign-in closed after 100 wrong codes in a row (unlock link mailed)"
            }
            Event::SecondStepUnlocked => "Two-step sign-in reopened by the mailed link",
            Event::SudoOpened => "Identity confirmed for security changes",
            Event::EmailChangeRequested => {
                "Change of email address requested (link mailed to the new one)"
            }
            Event::EmailChanged => "Email address changed",
            Event::RepositoryDeleted => "Repository deleted",
            Event::CollaboratorChanged => "Repository collaborators changed",
        }
    }
}

impl std::str::FromStr for Event {
    type Err = ();
    fn from_str(s: &str) -> std::result::Result<Event, ()> {
        Event::ALL.into_iter().find(|e| e.as_str() == s).ok_or(())
    }
}

/// Human text for a stored event name (the log page).
pub fn describe(event: &str) -> &'static str {
    event
        .parse::<Event>()
        .map_or("Security event", Event::describe)
}

impl AuthService {
    pub(crate) async fn audit(
        &self,
        c: &mut Conn,
        user_id: &UserId,
        now: UnixTime,
        event: Event,
        detail: &str,
        ctx: &Ctx,
    ) -> Result<()> {
        tracing::info!(user = %user_id, event = event.as_str(), channel = ctx.channel.as_str(), ip = %ctx.ip, "security event");
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

    /// Mail that must arrive for the flow to go on (a link): "[issuer]
    /// subject", a greeting, `text`, the signature. Errors surface.
    pub(crate) async fn send_link_mail(
        &self,
        to: &str,
        username: &str,
        subject: &str,
        text: &str,
    ) -> Result<()> {
        let issuer = &self.settings().issuer;
        let mail = Mail {
            to: to.to_string(),
            subject: format!("[{issuer}] {subject}"),
            body: format!("Hello {username},\n\n{text}\n\n-- {issuer}\n"),
        };
        self.inner
            .mailer
            .send(&mail)
            .await
            .map_err(crate::AuthError::MailFailed)
    }

    /// Notification of something that already happened: a failure is logged,
    /// never undoes the change.
    pub(crate) async fn notify(&self, user: &impl Addressee, subject: &str, what: &str, ctx: &Ctx) {
        let s = self.settings();
        let body = format!(
            "Hello {name},\n\n{what}\n\nWhen: {when} UTC\nFrom: {ip} ({channel})\n\n\
             If this was you, there is nothing to do.\n\
             If it was not, change your password now and review your security log:\n{log}\n\n\
             -- {issuer}\n",
            name = user.username(),
            when = crate::error::utc(self.now()),
            ip = ctx.ip,
            channel = ctx.channel.as_str(),
            log = self.link("/account/security-log"),
            issuer = s.issuer,
        );
        let mail = Mail {
            to: user.email().to_string(),
            subject: format!("[{}] {subject}", s.issuer),
            body,
        };
        if let Err(e) = self.inner.mailer.send(&mail).await {
            tracing::error!(user = %user.user_id(), error = %e, "could not send security notification");
        }
    }
}

#[cfg(test)]
mod event_tests {
    use super::*;

    #[test]
    fn every_event_has_a_name_that_parses_back_and_a_text() {
        let mut names = std::collections::HashSet::new();
        for e in Event::ALL {
            assert!(names.insert(e.as_str()), "{e:?} shares its name");
            assert_eq!(e.as_str().parse::<Event>(), Ok(e));
            assert_ne!(describe(e.as_str()), "Security event");
        }
        assert_eq!(describe("no.such.event"), "Security event");
    }
}
