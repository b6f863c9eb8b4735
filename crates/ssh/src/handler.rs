//! The russh handler: authenticates keys through the auth service and hands
//! each exec/shell to a task that owns the channel.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use russh::keys::HashAlg;
use russh::server::{Auth, ChannelOpenHandle, Msg, Session, VerifiedPublicKey};
use russh::{Channel, ChannelId};
use twostep_auth::{Account, Action, AuthService, Caller, Channel as Via, Ctx, KeySignIn};
use twostep_core::sk_signature::Assertion;

use crate::command::{self, Command};
use crate::io::Io;
use crate::limits::MAX_CHANNELS;

struct ChannelState {
    channel: Option<Channel<Msg>>,
    git_protocol: Option<String>,
    /// A pty was asked for; the answer waits until we know the command.
    pty_requested: bool,
}

pub struct Connection {
    auth: AuthService,
    ip: String,
    user: Option<Account>,
    /// How the user signed in (which kind of key).
    via: Caller,
    /// Signed in with a workspace's certificate instead (no account yet:
    /// each command's workspace decides whom it acts as).
    certificate: Option<twostep_auth::SshCertificate>,
    channels: HashMap<ChannelId, ChannelState>,
    /// Set once a key is accepted (the authentication deadline stops counting).
    signed_in: Arc<AtomicBool>,
}

impl Connection {
    pub fn new(auth: AuthService, peer: SocketAddr, signed_in: Arc<AtomicBool>) -> Connection {
        Connection {
            auth,
            ip: peer.ip().to_string(),
            user: None,
            via: Caller::SshKey(Default::default()),
            certificate: None,
            channels: HashMap::new(),
            signed_in,
        }
    }

    fn ctx(&self) -> Ctx {
        Ctx::new(Via::Ssh, self.ip.clone())
    }
}

/// What the person at the terminal is told when the service refuses: its
/// own sentence, except for failures on our side.
pub fn refusal_text(e: twostep_auth::AuthError) -> String {
    use twostep_auth::AuthError;
    match e {
        AuthError::Internal(cause) => {
            tracing::error!(%cause, "ssh command failed");
            "Something went wrong on the server; try again.".to_string()
        }
        AuthError::MailFailed(cause) => {
            tracing::error!(%cause, "mail failed during an ssh command");
            "Something went wrong on the server; try again.".to_string()
        }
        AuthError::BadCredentials => {
            "Wrong password. No codes were made (wrong passwords over SSH are limited to 10 in 15 minutes).".to_string()
        }
        other => other.to_string(),
    }
}

/// A task's view of its channel: what it needs to run one command.
pub struct Job<I: Io = Channel<Msg>> {
    pub auth: AuthService,
    pub user: Account,
    /// The SSH credential the user signed in with.
    pub via: Caller,
    pub ctx: Ctx,
    pub channel: I,
    /// Raw keys from a pty: Enter is `\r`, Ctrl-C comes as a byte, and
    /// output needs `\r\n`.
    pub pty: bool,
    /// A person types at a terminal that does not echo: the Enter that ends
    /// a hidden answer is ours to show.
    pub terminal: bool,
    pub git_protocol: Option<String>,
}

impl<I: Io> Job<I> {
    /// Line ending for text meant for a person (a pty wants `\r\n`).
    pub fn nl(&self) -> &'static str {
        if self.pty {
            "\r\n"
        } else {
            "\n"
        }
    }

    pub async fn say(&mut self, text: &str) {
        let bytes = text.replace('\n', self.nl()).into_bytes();
        self.channel.write(false, bytes).await;
    }

    pub async fn say_err(&mut self, text: &str) {
        let bytes = text.replace('\n', self.nl()).into_bytes();
        self.channel.write(true, bytes).await;
    }

    /// Asks for a secret: on the terminal when there is one, else on stderr,
    /// the stream of the "how to hide it" line before it (OpenSSH writes
    /// the two streams in no fixed order), and not in the output a script
    /// keeps (`ssh … recovery_codes > codes.txt` still shows the prompt).
    pub async fn prompt(&mut self, text: &str) {
        if self.terminal {
            self.say(text).await;
        } else {
            self.say_err(text).await;
        }
    }

    /// Before a secret is read without a terminal that hides it: a first
    /// line saying how to hide it (piped input is fine; a person typing at
    /// a plain `ssh` sees their password).
    pub async fn warn_if_shown(&mut self, command: &str) {
        if !self.terminal {
            let hint = self.auth.settings().ssh_hint.clone();
            self.say_err(&format!(
                "Typing here shows on screen. To hide it, press Ctrl-C and run: {hint} {command}\n"
            ))
            .await;
        }
    }

    pub async fn finish(self, status: u32) {
        self.channel.finish(status).await;
    }
}

/// What `ssh git@HOST` with no command shows, instead of a shell.
pub fn greeting(username: &str) -> String {
    format!("logged in as {username}. You can use git to connect to twostep. Shell access is disabled.\n")
}

/// Runs a command that is not git (the caller runs git its own way).
pub async fn run_command<I: Io>(mut job: Job<I>, command: Command) {
    match command {
        Command::RecoveryCodes => crate::recovery::run(job).await,
        Command::Password => crate::password::run(job).await,
        Command::Recover { cancel } => crate::recover::run(job, cancel).await,
        Command::Unknown(cmd) => {
            job.say_err(&format!(
                "twostep: unknown command \"{cmd}\". Use git (clone, fetch, push), `recovery_codes`, `password` or `recover`.\n"
            ))
            .await;
            job.finish(1).await;
        }
        Command::Git { .. } => job.finish(1).await,
    }
}

impl russh::server::Handler for Connection {
    type Error = russh::Error;

    async fn auth_publickey(
        &mut self,
        _user: &str,
        key: VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        let fp = key.public_key.fingerprint(HashAlg::Sha256).to_string();
        let security_key = matches!(
            key.algorithm,
            russh::keys::Algorithm::SkEd25519 | russh::keys::Algorithm::SkEcdsaSha2NistP256
        );
        let said = if security_key {
            // The signature was verified; what it says of the touch and the
            // PIN is for the service to hold against the key's options.
            let said = Assertion::of(key.signature.as_bytes());
            tracing::info!(
                fingerprint = %fp,
                ip = %self.ip,
                flags = said.map(|a| a.flags),
                counter = said.map(|a| a.counter),
                touched = said.is_some_and(|a| a.touched()),
                "security-key signature"
            );
            said
        } else {
            None
        };
        match self
            .auth
            .signin()
            .ssh_key_sign_in(&fp, said, &self.ctx())
            .await
        {
            Ok(KeySignIn::Accepted { user, key }) => {
                tracing::info!(user = %user.username, fingerprint = %fp, ip = %self.ip, "ssh key accepted");
                self.user = Some(user);
                self.via = Caller::SshKey(key);
                self.signed_in.store(true, Ordering::SeqCst);
                Ok(Auth::Accept)
            }
            Ok(KeySignIn::Refused(_) | KeySignIn::Unknown) => Ok(Auth::reject()),
            Err(e) => {
                tracing::error!(error = %e, "ssh key lookup failed");
                Ok(Auth::reject())
            }
        }
    }

    /// A user certificate whose signature russh verified: let in when a
    /// workspace has (or had) its authority; everything else is decided per
    /// command, with a sentence (`certificate.rs`). Unknown authorities are
    /// refused here, so OpenSSH goes on to the person's plain keys.
    async fn auth_openssh_certificate(
        &mut self,
        _user: &str,
        certificate: &russh::keys::Certificate,
    ) -> Result<Auth, Self::Error> {
        let facts = crate::certificate::facts(certificate);
        match self
            .auth
            .signin()
            .knows_certificate_authority(&facts.ca_fingerprint)
            .await
        {
            Ok(true) => {
                tracing::info!(key_id = %facts.key_id, ca = %facts.ca_fingerprint, ip = %self.ip, "ssh certificate of a known authority");
                self.certificate = Some(facts);
                self.signed_in.store(true, Ordering::SeqCst);
                Ok(Auth::Accept)
            }
            Ok(false) => Ok(Auth::reject()),
            Err(e) => {
                tracing::error!(error = %e, "certificate authority lookup failed");
                Ok(Auth::reject())
            }
        }
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.user.is_none() && self.certificate.is_none() {
            return Ok(());
        }
        if self.channels.len() >= MAX_CHANNELS {
            tracing::warn!(ip = %self.ip, "ssh channel refused: {MAX_CHANNELS} open on this connection");
            reply
                .reject(russh::ChannelOpenFailure::ResourceShortage)
                .await;
            return Ok(());
        }
        let id = channel.id();
        reply.accept().await;
        self.channels.insert(
            id,
            ChannelState {
                channel: Some(channel),
                git_protocol: None,
                pty_requested: false,
            },
        );
        Ok(())
    }

    async fn channel_close(
        &mut self,
        channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.channels.remove(&channel);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn pty_request(
        &mut self,
        channel: ChannelId,
        _term: &str,
        _w: u32,
        _h: u32,
        _pw: u32,
        _ph: u32,
        _modes: &[(russh::Pty, u32)],
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if let Some(s) = self.channels.get_mut(&channel) {
            s.pty_requested = true;
        }
        Ok(())
    }

    async fn env_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        value: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let safe = twostep_core::validate::git_protocol(value).is_some();
        match self.channels.get_mut(&channel) {
            Some(s) if name == "GIT_PROTOCOL" && safe => {
                s.git_protocol = Some(value.to_string());
                session.channel_success(channel)?;
            }
            _ => session.channel_failure(channel)?,
        }
        Ok(())
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.certificate_command(channel, None, session)? {
            return Ok(());
        }
        let Some(job) = self.job(channel) else {
            return Ok(());
        };
        // No shell here, only a greeting. A pty asked for is granted (`ssh -t`
        // treats a refusal as fatal), so the greeting uses its line endings.
        session.channel_success(channel)?;
        tokio::spawn(async move {
            let mut job = job;
            if let Err(why) =
                crate::gate::admit(&job.auth, &job.user, &job.via, Action::SshGreeting, None).await
            {
                job.say_err(&format!("{why}\n")).await;
                job.finish(1).await;
                return;
            }
            let text = greeting(&job.user.username);
            job.say(&text).await;
            job.finish(0).await;
        });
        Ok(())
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let command = command::parse(&String::from_utf8_lossy(&data[..data.len().min(4096)]));
        if self.certificate_command(channel, Some(command.clone()), session)? {
            return Ok(());
        }
        let Some(job) = self.job(channel) else {
            return Ok(());
        };
        // The one reply goes to the pty request if there was one: a pty for
        // the commands a person runs (those that read a password, so it is
        // not echoed, and `recover`), never for git.
        let pty = job.pty
            && matches!(
                command,
                Command::RecoveryCodes | Command::Password | Command::Recover { .. }
            );
        if job.pty && !pty {
            session.channel_failure(channel)?;
        } else {
            session.channel_success(channel)?;
        }
        let job = Job {
            pty,
            terminal: pty,
            ..job
        };
        tokio::spawn(async move {
            let mut job = job;
            if let Some(action) = command.action() {
                if let Err(why) =
                    crate::gate::admit(&job.auth, &job.user, &job.via, action, Some(&command)).await
                {
                    job.say_err(&format!("ERROR: {why}\n")).await;
                    job.finish(1).await;
                    return;
                }
            }
            match command {
                Command::Git {
                    service,
                    owner,
                    repo,
                } => crate::git::run(job, service, &owner, &repo).await,
                other => run_command(job, other).await,
            }
        });
        Ok(())
    }
}

impl Connection {
    /// On a certificate's connection: runs `command` the certificate's way
    /// and says so (true); false on a key's connection.
    fn certificate_command(
        &mut self,
        channel: ChannelId,
        command: Option<Command>,
        session: &mut Session,
    ) -> Result<bool, russh::Error> {
        let Some(cert) = self.certificate.clone() else {
            return Ok(false);
        };
        let ctx = self.ctx();
        let Some(state) = self.channels.get_mut(&channel) else {
            return Ok(true);
        };
        let git_protocol = state.git_protocol.clone();
        let Some(ch) = state.channel.take() else {
            return Ok(true);
        };
        // Granted (a pty too: `ssh -t` treats a refusal as fatal); what runs
        // says itself whether it may.
        session.channel_success(channel)?;
        tokio::spawn(crate::certificate::run(
            self.auth.clone(),
            cert,
            ch,
            ctx,
            git_protocol,
            command,
        ));
        Ok(true)
    }

    fn job(&mut self, channel: ChannelId) -> Option<Job> {
        let user = self.user.clone()?;
        let ctx = self.ctx();
        let state = self.channels.get_mut(&channel)?;
        let ch = state.channel.take()?;
        Some(Job {
            auth: self.auth.clone(),
            user,
            via: self.via.clone(),
            ctx,
            channel: ch,
            pty: state.pty_requested,
            terminal: state.pty_requested,
            git_protocol: state.git_protocol.clone(),
        })
    }
}
