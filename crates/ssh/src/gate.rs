//! The SSH side of the gate: every command names its action of the auth
//! service's requirement table, and is admitted (or refused, with the
//! sentence the person reads) before it runs, as every web route is.

use twostep_auth::{Account, Action, AuthService, Caller, SessionInfo};

use crate::command::Command;

/// Each command and the action it asks for (the README's table shows them).
pub const COMMANDS: &[(&str, Action)] = &[
    ("(no command: the greeting)", Action::SshGreeting),
    (
        "git-upload-pack, git-receive-pack, git-upload-archive",
        Action::SshGit,
    ),
    ("recovery_codes", Action::SshRecoveryCodes),
    ("password", Action::SshPassword),
    ("recover, recover --cancel", Action::SshRecover),
];

impl Command {
    /// The action this command asks for; `None` for one that runs nothing.
    pub fn action(&self) -> Option<Action> {
        Some(match self {
            Command::Git { .. } => Action::SshGit,
            Command::RecoveryCodes => Action::SshRecoveryCodes,
            Command::Password => Action::SshPassword,
            Command::Recover { .. } => Action::SshRecover,
            Command::Unknown(_) => return None,
        })
    }

    /// The workspace (or user) the command names, for the workspace rule.
    fn names(&self) -> Option<&str> {
        match self {
            Command::Git { owner, .. } => Some(owner),
            _ => None,
        }
    }
}

/// Admits `user` (signed in with a key or certificate, `via`) to `action`;
/// else the refusal's text.
pub async fn admit(
    auth: &AuthService,
    user: &Account,
    via: &Caller,
    action: Action,
    command: Option<&Command>,
) -> Result<(), String> {
    let caller = SessionInfo::sessionless(user.clone(), via.clone());
    auth.admit(
        action,
        Some(&caller),
        command.and_then(Command::names),
        false,
    )
    .await
    .map_err(|r| crate::handler::refusal_text(r.error))
}
