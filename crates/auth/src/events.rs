//! Every security event, in one table: the name stored in the log and the
//! sentence shown for it. A new event is one more line here.

macro_rules! events {
    ($($variant:ident => $name:literal, $text:literal;)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Event {
            $($variant,)*
        }

        impl Event {
            /// Every event, for parsing stored names back.
            pub const ALL: &'static [Event] = &[$(Event::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Event::$variant => $name,)*
                }
            }

            /// Human text for the log page.
            pub fn describe(self) -> &'static str {
                match self {
                    $(Event::$variant => $text,)*
                }
            }
        }
    };
}

events! {
    AccountCreated => "account.created", "Account created";
    EmailConfirmed => "email.confirmed", "Email address confirmed";
    SignedIn => "signin.succeeded", "Signed in";
    SignInFailed => "signin.failed", "Sign-in failed: wrong password";
    SecondStepPassed => "signin.second_step_passed", "Two-step verification passed";
    SecondFactorFailed => "second_factor.failed", "Wrong two-step code";
    SecondStepLocked => "second_step.locked", "Two-step sign-in locked after too many wrong codes";
    RecoveryCodeUsed => "recovery_code.used", "Recovery code used";
    PasswordSignInClosed => "password.sign_in_closed", "Password sign-in from unknown browsers closed after 100 wrong passwords in a row";
    PasswordSignInReopened => "password.sign_in_reopened", "Password sign-in reopened from the mailed link";
    SessionEnded => "session.ended", "Session ended by its owner";
    SessionsEndedByAdmin => "sessions.ended_by_admin", "Every session ended by an administrator";
    CodeReplayed => "code.replayed", "A code used before was entered again (refused): someone may have seen it";
    SignedOut => "signout", "Signed out";
    SignedOutEverywhere => "signout.everywhere", "Signed out everywhere: other sessions, app passwords, authorised applications and mailed links ended";
    PasswordResetRequested => "password.reset_requested", "Password reset requested";
    PasswordChanged => "password.changed", "Password changed";
    SshKeyAdded => "ssh_key.added", "SSH key added";
    SshKeyRemoved => "ssh_key.removed", "SSH key removed";
    SshKeyNotTouched => "ssh_key.not_touched", "SSH sign-in refused: the security key's signature says it was not touched";
    SshKeyNotVerified => "ssh_key.not_verified", "SSH sign-in refused: the key is verify-required and its signature says no PIN or biometric was checked";
    SshKeyCounterWentBack => "ssh_key.counter_went_back", "A security key's signature counter went back: a copy of the key may exist";
    TwoStepSetupStarted => "two_step.setup_started", "Two-step verification setup started";
    TwoStepConfirmationSent => "two_step.confirmation_sent", "Two-step confirmation email sent";
    TwoStepEnabled => "two_step.enabled", "Two-step verification turned on";
    TwoStepDisabled => "two_step.disabled", "Two-step verification turned off";
    AuthenticatorReplaced => "two_step.device_replaced", "Authenticator app replaced";
    AuthenticatorAdded => "two_step.authenticator_added", "Authenticator added";
    AuthenticatorRemoved => "two_step.authenticator_removed", "Authenticator removed";
    AuthenticatorResynchronised => "two_step.authenticator_resynchronised", "Authenticator's clock resynchronised with two consecutive codes";
    RecoveryCodesRegenerated => "recovery_codes.regenerated", "New recovery codes generated";
    RecoveryCodesSaved => "recovery_codes.saved_confirmed", "Saving of the new recovery codes confirmed (one typed back)";
    RecoveryMailSent => "recovery.link_mailed", "Link to start account recovery mailed (lost second factors)";
    RecoveryStarted => "recovery.started", "Account recovery without the second factor started (waiting period)";
    RecoveryProofAdded => "recovery.proof_added", "Account recovery confirmed with an SSH key (shorter wait)";
    RecoveryReminded => "recovery.reminded", "Reminder mailed: account recovery under way";
    RecoveryCancelled => "recovery.cancelled", "Account recovery cancelled";
    RecoveryCompleted => "recovery.completed", "Account recovered: old second factors removed, sessions, app passwords and authorised applications ended";
    RecoveryCodesOverSsh => "recovery_codes.regenerated_over_ssh", "New recovery codes generated over SSH";
    SshPasswordFailed => "ssh.password_failed", "Wrong password for recovery codes over SSH";
    AppPasswordCreated => "app_password.created", "App password created";
    AppPasswordRevoked => "app_password.revoked", "App password revoked";
    AppPasswordRefused => "app_password.refused", "Account password refused for Git or API (two-step is on)";
    RepositoryCreated => "repository.created", "Repository created";
    RepositoryDeleted => "repository.deleted", "Repository deleted";
    CollaboratorChanged => "repository.collaborator_changed", "Repository collaborators changed";
    SecurityKeyAdded => "security_key.added", "Security key added";
    SecurityKeyRemoved => "security_key.removed", "Security key removed";
    SecurityKeyConfirmed => "security_key.confirmed", "Identity confirmed with a security key";
    PasskeyAdded => "passkey.added", "Passkey added";
    IdentityLinked => "identity.linked", "Sign-in provider linked";
    OAuthAppRegistered => "oauth.app_registered", "OAuth application registered";
    OAuthAppAuthorized => "oauth.app_authorized", "Application authorised (OAuth)";
    OAuthAppRevoked => "oauth.app_revoked", "Application's access revoked (OAuth)";
    OAuthCodeReused => "oauth.code_reused", "An authorization code was used twice: the tokens issued from it were revoked";
    OAuthTokenReused => "oauth.refresh_reused", "A refresh token was used twice: the application's tokens were revoked";
    SshApproved => "ssh.approved_by_link", "A request made over SSH approved by the mailed link";
    IdentityUnlinked => "identity.unlinked", "Sign-in provider unlinked";
    SignedInWithPasskey => "signin.passkey", "Signed in with a passkey (no password or code: the passkey is both steps)";
    PasswordThrottled => "signin.throttled", "Password sign-in paused for unknown browsers after too many wrong passwords";
    SecondStepFrozen => "second_step.frozen", "Two-step sign-in closed after 100 wrong codes in a row (unlock link mailed)";
    SecondStepUnlocked => "second_step.unlocked", "Two-step sign-in reopened by the mailed link";
    SudoOpened => "sudo.opened", "Identity confirmed for security changes";
    EmailChangeRequested => "email.change_requested", "Change of email address requested (link mailed to the new one)";
    EmailChanged => "email.changed", "Email address changed";
    TwoStepResetByAdmin => "two_step.reset_by_admin", "Two-step verification reset by an administrator: authenticators, security keys, recovery codes, sessions, app passwords and authorised applications removed";
    TwoStepResetRequested => "two_step.reset_requested", "An administrator asked to reset two-step verification (waits for a second administrator)";
    TwoStepResetCancelled => "two_step.reset_cancelled", "The request to reset two-step verification was cancelled";
    SecondStepUnlockedByAdmin => "second_step.unlocked_by_admin", "Two-step sign-in unlocked by an administrator";
    AdminGranted => "admin.granted", "Administrator rights granted";
    AdminRevoked => "admin.revoked", "Administrator rights removed";
    WorkspaceCreated => "workspace.created", "Workspace created";
    WorkspaceMembersChanged => "workspace.members_changed", "Workspace members changed";
    WorkspacePolicyChanged => "workspace.two_step_policy_changed", "Workspace's two-step verification requirement changed";
    WorkspaceSshRulesChanged => "workspace.ssh_rules_changed", "Workspace's SSH rules changed (FIDO keys, certificates)";
    WorkspaceCaAdded => "workspace.ssh_ca_added", "SSH certificate authority added to a workspace";
    WorkspaceCaRemoved => "workspace.ssh_ca_removed", "SSH certificate authority removed from a workspace";
}

impl std::str::FromStr for Event {
    type Err = ();
    fn from_str(s: &str) -> std::result::Result<Event, ()> {
        Event::ALL
            .iter()
            .copied()
            .find(|e| e.as_str() == s)
            .ok_or(())
    }
}

/// Human text for a stored event name (the log page).
pub fn describe(event: &str) -> &'static str {
    event
        .parse::<Event>()
        .map_or("Security event", Event::describe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_has_a_name_that_parses_back_and_a_text() {
        let mut names = std::collections::HashSet::new();
        for &e in Event::ALL {
            assert!(names.insert(e.as_str()), "{e:?} shares its name");
            assert_eq!(e.as_str().parse::<Event>(), Ok(e));
            assert_ne!(describe(e.as_str()), "Security event");
        }
        assert_eq!(describe("no.such.event"), "Security event");
    }
}
