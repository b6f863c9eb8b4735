//! The account as front-ends see it: no password hash, no lockout counters.

use twostep_core::{UnixTime, UserId};
use twostep_store::users::User;

#[derive(Debug, Clone)]
pub struct Account {
    pub id: UserId,
    pub username: String,
    pub email: String,
    pub email_confirmed_at: Option<UnixTime>,
    pub two_step_enabled_at: Option<UnixTime>,
    pub created_at: UnixTime,
    /// Which recovery code (1..6) is still to be typed back to show that
    /// the list was saved; `None` once done (or with no codes).
    pub recovery_code_to_type: Option<i64>,
    /// When the open self-service recovery request is ready, if one is open.
    pub recovery_ready_at: Option<UnixTime>,
    pub is_admin: bool,
    /// An administrator reset two-step verification and it is not on again:
    /// signing in goes into setting it up.
    pub two_step_reset_by_admin: bool,
    /// While two-step is off: workspaces that require it, and from when
    /// (filled in for signed-in sessions, for the banner).
    pub two_step_required_by: Vec<crate::WorkspaceDeadline>,
    /// False for an account made through a sign-in provider: it confirms
    /// security changes by signing in there again, not with a password.
    pub has_password: bool,
}

impl Account {
    pub fn two_step_on(&self) -> bool {
        self.two_step_enabled_at.is_some()
    }

    pub fn email_confirmed(&self) -> bool {
        self.email_confirmed_at.is_some()
    }
}

impl From<User> for Account {
    fn from(u: User) -> Account {
        let is_admin = u.admin();
        let has_password = u.password_hash.is_some();
        Account {
            has_password,
            id: u.id,
            username: u.username,
            email: u.email,
            email_confirmed_at: u.email_confirmed_at,
            two_step_enabled_at: u.two_step_enabled_at,
            created_at: u.created_at,
            recovery_code_to_type: u.two_step_enabled_at.and(u.codes_check_position),
            recovery_ready_at: u.recovery_ready_at,
            is_admin,
            two_step_reset_by_admin: u.two_step_reset_at.is_some()
                && u.two_step_enabled_at.is_none(),
            two_step_required_by: Vec::new(),
        }
    }
}

/// Whom mail goes to: an `Account`, or the stored row inside a decision.
pub(crate) trait Addressee {
    fn user_id(&self) -> &UserId;
    fn username(&self) -> &str;
    fn email(&self) -> &str;
}

/// An addressee owned, for mail sent from a task of its own.
pub(crate) struct Recipient {
    id: UserId,
    username: String,
    email: String,
}

impl Recipient {
    pub(crate) fn of(a: &impl Addressee) -> Recipient {
        Recipient {
            id: a.user_id().clone(),
            username: a.username().to_string(),
            email: a.email().to_string(),
        }
    }
}

impl Addressee for Recipient {
    fn user_id(&self) -> &UserId {
        &self.id
    }
    fn username(&self) -> &str {
        &self.username
    }
    fn email(&self) -> &str {
        &self.email
    }
}

impl Addressee for Account {
    fn user_id(&self) -> &UserId {
        &self.id
    }
    fn username(&self) -> &str {
        &self.username
    }
    fn email(&self) -> &str {
        &self.email
    }
}

impl Addressee for User {
    fn user_id(&self) -> &UserId {
        &self.id
    }
    fn username(&self) -> &str {
        &self.username
    }
    fn email(&self) -> &str {
        &self.email
    }
}
