//! What a sign-in still needs after the password.

/// Second factors the account can present, as offered on the second-step page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Need {
    pub totp: bool,
    pub recovery_code: bool,
    pub security_key: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum AfterPassword {
    /// Two-step verification is off: the session is complete.
    SignedIn,
    /// Two-step verification is on: one of these factors completes it.
    SecondStep(Need),
}

#[derive(Debug, Clone, Copy, Default)]
pub struct AccountFactors {
    pub two_step_on: bool,
    pub authenticators: usize,
    pub unused_recovery_codes: usize,
    pub security_keys: usize,
}

pub fn after_password(f: AccountFactors) -> AfterPassword {
    if !f.two_step_on {
        return AfterPassword::SignedIn;
    }
    AfterPassword::SecondStep(Need {
        totp: f.authenticators > 0,
        // Offered even with none left, so the page can say so rather than hide the way.
        recovery_code: true,
        security_key: f.security_keys > 0,
    })
}

/// Prerequisites for turning two-step verification on (Bitbucket's checklist).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetupChecklist {
    pub email_confirmed: bool,
    pub password_set: bool,
    pub has_ssh_key: bool,
}

impl SetupChecklist {
    pub fn ready(&self) -> bool {
        self.email_confirmed && self.password_set && self.has_ssh_key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_step_only_when_on() {
        assert_eq!(
            after_password(AccountFactors::default()),
            AfterPassword::SignedIn
        );
        let f = AccountFactors {
            two_step_on: true,
            authenticators: 1,
            unused_recovery_codes: 0,
            security_keys: 0,
        };
        assert_eq!(
            after_password(f),
            AfterPassword::SecondStep(Need {
                totp: true,
                recovery_code: true,
                security_key: false
            })
        );
        let ready = SetupChecklist {
            email_confirmed: true,
            password_set: true,
            has_ssh_key: false,
        };
        assert!(!ready.ready());
    }
}
