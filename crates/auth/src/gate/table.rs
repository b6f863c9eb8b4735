//! The one table of what each action needs. Every route of the web server and
//! every SSH command names its action here; the gate enforces the row, and the
//! route matrix test checks every route against it.

use twostep_core::app_password::Scope;

use super::rules::{CallerKind as K, Callers, Need};

/// Everything a caller can ask the server to do, by what it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    // Open to anyone.
    ReadPublic,
    SignUp,
    SignIn,
    RedeemLink,
    ForgotPassword,
    OAuthClient,
    SignOut,
    // After the password, before the second step.
    SecondStep,
    RecoveryFromSignIn,
    // A signed-in person.
    ViewAccount,
    ReadAccount,
    ConfirmIdentity,
    ResendEmailConfirmation,
    SetUpTwoStep,
    ChangePassword,
    ChangeEmail,
    NewRecoveryCodes,
    ReplaceDevice,
    DisableTwoStep,
    AddAuthenticator,
    RemoveAuthenticator,
    ClaimHardwareToken,
    RemoveSshKey,
    RevokeAppPassword,
    RemoveSecurityKey,
    UnlinkProvider,
    RegisterOAuthApp,
    RevokeOAuthApp,
    ApproveSshCommand,
    SignOutEverywhere,
    ListSessions,
    EndSession,
    // New credentials: one kind of action, one rule.
    AddSshKey,
    CreateAppPassword,
    AuthorizeOAuthApp,
    AddSecurityKey,
    AddPasskey,
    LinkProvider,
    // Repositories.
    ReadRepositories,
    CreateRepository,
    DeleteRepository,
    ManageCollaborators,
    GitOverHttp,
    // Workspaces.
    CreateWorkspace,
    ReadWorkspace,
    ManageWorkspaceMembers,
    SetWorkspacePolicy,
    ManageWorkspaceSsh,
    CreateWorkspaceRepository,
    // Administrators.
    AdminRead,
    AdminAct,
    // SSH commands.
    SshGreeting,
    SshGit,
    SshRecoveryCodes,
    SshPassword,
    SshRecover,
}

const ANYONE: Callers = Callers::of(&[
    K::Anonymous,
    K::HalfSignedIn,
    K::Session,
    K::AppPassword,
    K::OAuthToken,
    K::BasicPassword,
]);
const SIGNING_IN: Callers = Callers::of(&[K::HalfSignedIn, K::Session]);
const SESSION: Callers = Callers::of(&[K::Session]);
/// A person: the browser session, or the API with the account password in
/// HTTP Basic (two-step off; it has no sudo window, so each change brings
/// its proof).
const PERSON: Callers = Callers::of(&[K::Session, K::BasicPassword]);
/// Anyone signed in, tools included (their scope is checked).
const READERS: Callers =
    Callers::of(&[K::Session, K::AppPassword, K::OAuthToken, K::BasicPassword]);
const GIT_CLIENTS: Callers = Callers::of(&[K::AppPassword, K::OAuthToken, K::BasicPassword]);
const SSH: Callers = Callers::of(&[K::SshKey]);
/// Git over SSH: a registered key, or a workspace's certificate.
const SSH_GIT: Callers = Callers::of(&[K::SshKey, K::SshCertificate]);

const fn open(callers: Callers) -> Need {
    Need {
        callers,
        scope: None,
        admin: false,
        confirmed_email: false,
        workspace: false,
        fresh: false,
        new_credential: false,
    }
}

const fn scoped(callers: Callers, scope: Scope) -> Need {
    Need {
        scope: Some(scope),
        ..open(callers)
    }
}

/// A security change: a fresh proof first.
const fn fresh(callers: Callers) -> Need {
    Need {
        fresh: true,
        ..open(callers)
    }
}

/// A new bearer credential: a person, a fresh proof, a confirmed email (and,
/// where a workspace requires keys, a session signed in with one).
const fn credential(callers: Callers) -> Need {
    Need {
        fresh: true,
        confirmed_email: true,
        new_credential: true,
        ..open(callers)
    }
}

const fn in_workspace(n: Need) -> Need {
    Need {
        workspace: true,
        ..n
    }
}

const fn admin() -> Need {
    Need {
        admin: true,
        fresh: true,
        ..open(SESSION)
    }
}

impl Action {
    pub const ALL: [Action; 56] = [
        Action::ReadPublic,
        Action::SignUp,
        Action::SignIn,
        Action::RedeemLink,
        Action::ForgotPassword,
        Action::OAuthClient,
        Action::SignOut,
        Action::SecondStep,
        Action::RecoveryFromSignIn,
        Action::ViewAccount,
        Action::ReadAccount,
        Action::ConfirmIdentity,
        Action::ResendEmailConfirmation,
        Action::SetUpTwoStep,
        Action::ChangePassword,
        Action::ChangeEmail,
        Action::NewRecoveryCodes,
        Action::ReplaceDevice,
        Action::DisableTwoStep,
        Action::AddAuthenticator,
        Action::RemoveAuthenticator,
        Action::ClaimHardwareToken,
        Action::RemoveSshKey,
        Action::RevokeAppPassword,
        Action::RemoveSecurityKey,
        Action::UnlinkProvider,
        Action::RegisterOAuthApp,
        Action::RevokeOAuthApp,
        Action::ApproveSshCommand,
        Action::SignOutEverywhere,
        Action::ListSessions,
        Action::EndSession,
        Action::AddSshKey,
        Action::CreateAppPassword,
        Action::AuthorizeOAuthApp,
        Action::AddSecurityKey,
        Action::AddPasskey,
        Action::LinkProvider,
        Action::ReadRepositories,
        Action::CreateRepository,
        Action::DeleteRepository,
        Action::ManageCollaborators,
        Action::GitOverHttp,
        Action::CreateWorkspace,
        Action::ReadWorkspace,
        Action::ManageWorkspaceMembers,
        Action::SetWorkspacePolicy,
        Action::ManageWorkspaceSsh,
        Action::CreateWorkspaceRepository,
        Action::AdminRead,
        Action::AdminAct,
        Action::SshGreeting,
        Action::SshGit,
        Action::SshRecoveryCodes,
        Action::SshPassword,
        Action::SshRecover,
    ];

    /// The row of the table.
    pub const fn need(self) -> Need {
        use Action::*;
        match self {
            ReadPublic | SignUp | SignIn | RedeemLink | ForgotPassword | OAuthClient | SignOut => {
                open(ANYONE)
            }
            SecondStep | RecoveryFromSignIn => open(SIGNING_IN),
            ViewAccount | ConfirmIdentity | ApproveSshCommand | ListSessions | EndSession => {
                open(SESSION)
            }
            ReadAccount => scoped(READERS, Scope::AccountRead),
            ResendEmailConfirmation | SetUpTwoStep | RevokeOAuthApp | CreateWorkspace => {
                open(PERSON)
            }
            RegisterOAuthApp => Need {
                confirmed_email: true,
                ..open(PERSON)
            },
            ChangePassword | ChangeEmail | NewRecoveryCodes | ReplaceDevice | DisableTwoStep
            | AddAuthenticator | RemoveAuthenticator | ClaimHardwareToken | RemoveSshKey
            | RevokeAppPassword | RemoveSecurityKey | SignOutEverywhere => fresh(PERSON),
            UnlinkProvider => fresh(SESSION),
            AddSshKey | CreateAppPassword => credential(PERSON),
            AuthorizeOAuthApp | AddSecurityKey | AddPasskey | LinkProvider => credential(SESSION),
            ReadRepositories => in_workspace(scoped(READERS, Scope::RepoRead)),
            CreateRepository | DeleteRepository => scoped(READERS, Scope::RepoWrite),
            ManageCollaborators => in_workspace(scoped(READERS, Scope::RepoWrite)),
            GitOverHttp => in_workspace(open(GIT_CLIENTS)),
            ReadWorkspace => in_workspace(scoped(READERS, Scope::AccountRead)),
            ManageWorkspaceMembers | SetWorkspacePolicy | ManageWorkspaceSsh => {
                in_workspace(fresh(PERSON))
            }
            CreateWorkspaceRepository => in_workspace(open(PERSON)),
            AdminRead | AdminAct => admin(),
            SshGreeting | SshRecoveryCodes | SshPassword | SshRecover => open(SSH),
            SshGit => in_workspace(open(SSH_GIT)),
        }
    }

    /// What the action is, for the README's table and logs.
    pub const fn describe(self) -> &'static str {
        use Action::*;
        match self {
            ReadPublic => "public pages, static files, help, health, OpenAPI and OAuth metadata",
            SignUp => "sign up",
            SignIn => "sign in: password, passkey, a sign-in provider",
            RedeemLink => "open a mailed link (confirm email, reset password, recovery, unlock)",
            ForgotPassword => "ask for a password reset",
            OAuthClient => "OAuth token, revocation, introspection, device authorization (the client authenticates)",
            SignOut => "sign out",
            SecondStep => "the second step: code, recovery code, security key",
            RecoveryFromSignIn => "self-service recovery from the second step",
            ViewAccount => "account pages (reading)",
            ReadAccount => "the account through the API: profile, keys, log, applications",
            ConfirmIdentity => "confirm it is you (open sudo mode)",
            ResendEmailConfirmation => "mail the confirmation link again",
            SetUpTwoStep => "set up two-step verification, say the codes are saved",
            ChangePassword => "change the password",
            ChangeEmail => "change the email address",
            NewRecoveryCodes => "new recovery codes",
            ReplaceDevice => "replace the authenticator",
            DisableTwoStep => "turn two-step verification off",
            AddAuthenticator => "add an authenticator",
            RemoveAuthenticator => "remove an authenticator",
            ClaimHardwareToken => "claim a hardware token",
            RemoveSshKey => "remove an SSH key",
            RevokeAppPassword => "revoke an app password",
            RemoveSecurityKey => "remove a security key or passkey",
            UnlinkProvider => "unlink a sign-in provider",
            RegisterOAuthApp => "register an OAuth application",
            RevokeOAuthApp => "revoke an authorised application",
            ApproveSshCommand => "approve an SSH command (accounts with no password)",
            SignOutEverywhere => "sign out everywhere: other sessions, app passwords, authorised applications",
            ListSessions => "list your sessions (browser, address, times)",
            EndSession => "end one of your other sessions, or all of them",
            AddSshKey => "add an SSH key",
            CreateAppPassword => "create an app password",
            AuthorizeOAuthApp => "authorise an OAuth application (consent or device code)",
            AddSecurityKey => "add a security key",
            AddPasskey => "add a passkey",
            LinkProvider => "link a sign-in provider",
            ReadRepositories => "read repositories and their collaborators",
            CreateRepository => "create a repository",
            DeleteRepository => "delete a repository",
            ManageCollaborators => "add or remove collaborators",
            GitOverHttp => "Git over HTTPS (clone, fetch, push)",
            CreateWorkspace => "create a workspace",
            ReadWorkspace => "read a workspace",
            ManageWorkspaceMembers => "add, change or remove workspace members",
            SetWorkspacePolicy => "change a workspace's two-step policy (its level, allowed key models)",
            ManageWorkspaceSsh => "a workspace's SSH rules (FIDO keys, certificates) and certificate authorities",
            CreateWorkspaceRepository => "create a workspace repository",
            AdminRead => "administration: read users, approvals, the audit log",
            AdminAct => "administration: reset, unlock, grant, revoke, approve, assign tokens",
            SshGreeting => "`ssh git@HOST` (greeting, no shell)",
            SshGit => "Git over SSH",
            SshRecoveryCodes => "`ssh git@HOST recovery_codes`",
            SshPassword => "`ssh git@HOST password`",
            SshRecover => "`ssh git@HOST recover [--cancel]`",
        }
    }

    /// Creating a bearer credential: every such action shares one rule.
    pub const fn creates_credential(self) -> bool {
        matches!(
            self,
            Action::AddSshKey
                | Action::CreateAppPassword
                | Action::AuthorizeOAuthApp
                | Action::AddSecurityKey
                | Action::AddPasskey
                | Action::LinkProvider
        )
    }

    /// The requirement table as Markdown (the README's security model shows it).
    pub fn markdown_table() -> String {
        let mut out = String::from(
            "| action | callers | scope | fresh proof | confirmed email | workspace policy | administrator |\n\
             | --- | --- | --- | --- | --- | --- | --- |\n",
        );
        let yes = |b: bool| if b { "yes" } else { "" };
        for a in Action::ALL {
            let n = a.need();
            let callers: Vec<&str> = n.callers.kinds().map(|k| k.as_str()).collect();
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                a.describe(),
                if n.callers == ANYONE {
                    "anyone".to_string()
                } else {
                    callers.join(", ")
                },
                n.scope.map(|s| s.as_str()).unwrap_or(""),
                yes(n.fresh),
                yes(n.confirmed_email),
                yes(n.workspace),
                yes(n.admin),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_is_listed_once() {
        let mut seen = std::collections::HashSet::new();
        for a in Action::ALL {
            assert!(seen.insert(a), "{a:?} twice");
        }
    }

    #[test]
    fn every_credential_is_made_by_a_person_with_a_fresh_proof_and_a_confirmed_email() {
        for a in Action::ALL.into_iter().filter(|a| a.creates_credential()) {
            let n = a.need();
            assert!(n.fresh && n.confirmed_email, "{a:?}");
            assert!(!n.callers.contains(K::AppPassword), "{a:?}");
            assert!(!n.callers.contains(K::OAuthToken), "{a:?}");
            assert!(!n.callers.contains(K::Anonymous), "{a:?}");
        }
    }

    #[test]
    fn no_token_changes_a_security_setting() {
        for a in Action::ALL {
            let n = a.need();
            if n.fresh || n.admin {
                assert!(
                    !n.callers.contains(K::AppPassword) && !n.callers.contains(K::OAuthToken),
                    "{a:?}"
                );
            }
        }
    }
}
