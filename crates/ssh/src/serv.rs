//! `twostep serv KEY-ID`: one SSH command behind OpenSSH's sshd. sshd has
//! checked the key (its `AuthorizedKeysCommand` is `twostep keys`, which
//! names the key in a forced command), puts what the client asked for in
//! `SSH_ORIGINAL_COMMAND` and the client on our standard streams. The same
//! commands as our own SSH server, through the same auth service.

use std::io::IsTerminal;
use std::process::Stdio as Inherit;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use twostep_auth::{Action, AuthService, Channel as Via, Ctx};

use crate::command::{self, Command};
use crate::handler::{greeting, run_command, Job};
use crate::io::Io;

/// What sshd handed over about the client.
pub struct Request {
    pub key_id: String,
    /// `SSH_ORIGINAL_COMMAND`; none for `ssh git@HOST` alone.
    pub command: Option<String>,
    /// From `SSH_CONNECTION`.
    pub client_ip: String,
    /// `GIT_PROTOCOL`, when sshd's `AcceptEnv` lets it through.
    pub git_protocol: Option<String>,
}

/// Runs the request; the exit status for sshd to pass on.
pub async fn serv(auth: AuthService, req: Request) -> u32 {
    let mut io = StdStreams::new();
    let (user, via) = match auth.signin().ssh_user_by_key_id(&req.key_id).await {
        Ok(Some((u, key))) => (u, twostep_auth::Caller::SshKey(key)),
        Ok(None) => {
            io.write(
                true,
                b"twostep: this SSH key is no longer registered.\n".to_vec(),
            )
            .await;
            return 1;
        }
        Err(e) => {
            io.write(
                true,
                format!("{}\n", crate::handler::refusal_text(e)).into_bytes(),
            )
            .await;
            return 1;
        }
    };
    tracing::info!(user = %user.username, key = %req.key_id, ip = %req.client_ip, "ssh key accepted by sshd");
    let Some(raw) = req.command else {
        if let Err(why) = crate::gate::admit(&auth, &user, &via, Action::SshGreeting, None).await {
            io.write(true, format!("{why}\n").into_bytes()).await;
            return 1;
        }
        io.write(false, greeting(&user.username).into_bytes()).await;
        return 0;
    };
    let raw = &raw.as_bytes()[..raw.len().min(4096)];
    let command = command::parse(&String::from_utf8_lossy(raw));
    if let Some(action) = command.action() {
        if let Err(why) = crate::gate::admit(&auth, &user, &via, action, Some(&command)).await {
            io.write(true, format!("ERROR: {why}\n").into_bytes()).await;
            return 1;
        }
    }
    if let Command::Git {
        service,
        owner,
        repo,
    } = command
    {
        let path = match crate::git::authorize(&auth, &user, service, &owner, &repo).await {
            Ok(p) => p,
            Err(msg) => {
                io.write(true, format!("ERROR: {msg}\n").into_bytes()).await;
                return 1;
            }
        };
        let protocol = req
            .git_protocol
            .filter(|p| twostep_core::validate::git_protocol(p).is_some());
        let status = crate::git::command(service, &path, protocol.as_deref())
            .stdin(Inherit::inherit())
            .stdout(Inherit::inherit())
            .stderr(Inherit::inherit())
            .status()
            .await;
        return match status {
            Ok(s) if s.success() => {
                if service.writes() {
                    twostep_auth::after_push_detached(&path);
                }
                0
            }
            Ok(s) => s.code().unwrap_or(1) as u32,
            Err(e) => {
                tracing::error!(error = %e, "could not start git");
                io.write(true, b"ERROR: the server could not start git.\n".to_vec())
                    .await;
                1
            }
        };
    }
    let terminal = std::io::stdin().is_terminal();
    let _hidden = terminal.then(NoEcho::new);
    let status = io.status.clone();
    let job = Job {
        auth,
        user,
        via,
        ctx: Ctx::new(Via::Ssh, req.client_ip),
        channel: io,
        pty: false,
        terminal,
        git_protocol: None,
    };
    run_command(job, command).await;
    status.load(Ordering::SeqCst)
}

struct StdStreams {
    stdin: tokio::io::Stdin,
    stdout: tokio::io::Stdout,
    stderr: tokio::io::Stderr,
    status: Arc<AtomicU32>,
}

impl StdStreams {
    fn new() -> StdStreams {
        StdStreams {
            stdin: tokio::io::stdin(),
            stdout: tokio::io::stdout(),
            stderr: tokio::io::stderr(),
            status: Arc::new(AtomicU32::new(1)),
        }
    }
}

impl Io for StdStreams {
    async fn read(&mut self) -> Option<Vec<u8>> {
        let mut buf = vec![0; 4096];
        match self.stdin.read(&mut buf).await {
            Ok(0) | Err(_) => None,
            Ok(n) => {
                buf.truncate(n);
                Some(buf)
            }
        }
    }

    async fn write(&mut self, stderr: bool, bytes: Vec<u8>) {
        let out: &mut (dyn tokio::io::AsyncWrite + Unpin + Send) = if stderr {
            &mut self.stderr
        } else {
            &mut self.stdout
        };
        let _ = out.write_all(&bytes).await;
        let _ = out.flush().await;
    }

    async fn finish(mut self, status: u32) {
        let _ = self.stdout.flush().await;
        self.status.store(status, Ordering::SeqCst);
    }
}

/// While it lives, what is typed at the terminal (a pty sshd made for
/// `ssh -t`) is not echoed: passwords stay off the screen.
struct NoEcho(Option<libc::termios>);

impl NoEcho {
    fn new() -> NoEcho {
        // SAFETY: tcgetattr/tcsetattr on fd 0 with a termios we own.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut t) != 0 {
                return NoEcho(None);
            }
            let saved = t;
            t.c_lflag &= !libc::ECHO;
            if libc::tcsetattr(0, libc::TCSANOW, &t) != 0 {
                return NoEcho(None);
            }
            NoEcho(Some(saved))
        }
    }
}

impl Drop for NoEcho {
    fn drop(&mut self) {
        if let Some(saved) = self.0 {
            // SAFETY: restores the settings read in `new`.
            unsafe {
                libc::tcsetattr(0, libc::TCSANOW, &saved);
            }
        }
    }
}
