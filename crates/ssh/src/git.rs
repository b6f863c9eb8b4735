//! Git over SSH: the real `git upload-pack`/`receive-pack`/`upload-archive`
//! wired to the channel.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use russh::ChannelMsg;
use tokio::io::AsyncWriteExt;
use twostep_auth::{Access, AuthError};

use crate::command::GitService;
use crate::handler::Job;

/// The repository `user` may reach for `service`, or the sentence saying no.
pub(crate) async fn authorize(
    auth: &twostep_auth::AuthService,
    user: &twostep_auth::Account,
    service: GitService,
    owner: &str,
    repo: &str,
) -> Result<PathBuf, String> {
    let need = if service.writes() {
        Access::Write
    } else {
        Access::Read
    };
    match auth
        .repos()
        .authorize_repo(&user.id, owner, repo, need)
        .await
    {
        Ok((_, path)) => Ok(path),
        Err(AuthError::NotFound) => Err(format!(
            "Repository {owner}/{repo} not found, or you ({}) do not have access to it.",
            user.username
        )),
        Err(other) => Err(crate::handler::refusal_text(other)),
    }
}

/// `git upload-pack PATH` (or its siblings) with nothing of ours in its
/// environment but git's settings and the client's protocol version.
pub(crate) fn command(
    service: GitService,
    path: &Path,
    git_protocol: Option<&str>,
) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new("git");
    cmd.arg(service.program())
        .arg(path)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", path.parent().unwrap_or(path))
        .envs(twostep_auth::GIT_CONFIG_ENV)
        .kill_on_drop(true);
    if let Some(p) = git_protocol {
        cmd.env("GIT_PROTOCOL", p);
    }
    cmd
}

pub async fn run(mut job: Job, service: GitService, owner: &str, repo: &str) {
    let path = match authorize(&job.auth, &job.user, service, owner, repo).await {
        Ok(path) => path,
        Err(msg) => {
            job.say_err(&format!("ERROR: {msg}\n")).await;
            job.finish(1).await;
            return;
        }
    };
    let mut running = job.auth.repos().git_operation("ssh", service.name());
    let mut cmd = command(service, &path, job.git_protocol.as_deref());
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "could not start git");
            job.say_err("ERROR: the server could not start git.\n")
                .await;
            job.finish(1).await;
            return;
        }
    };
    let (Some(mut stdin), Some(mut stdout), Some(mut stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        job.finish(1).await;
        return;
    };
    let Job { channel, auth, .. } = job;
    let (mut read, write) = channel.split();
    let mut out = write.make_writer();
    let mut err = write.make_writer_ext(Some(1));
    // Client → git stdin, until the client's EOF.
    let input = tokio::spawn(async move {
        while let Some(msg) = read.wait().await {
            let more = match msg {
                ChannelMsg::Data { data } => stdin.write_all(&data).await.is_ok(),
                ChannelMsg::Eof | ChannelMsg::Close => false,
                _ => true,
            };
            if !more {
                break;
            }
        }
        drop(stdin);
        read
    });
    let output = async {
        // Big reads make full-size SSH packets out of git's output.
        let mut stdout = tokio::io::BufReader::with_capacity(256 * 1024, &mut stdout);
        let _ = tokio::io::copy_buf(&mut stdout, &mut out).await;
        let _ = out.flush().await;
    };
    let errors = async {
        let _ = tokio::io::copy(&mut stderr, &mut err).await;
        let _ = err.flush().await;
    };
    tokio::join!(output, errors);
    let status = child.wait().await.ok().and_then(|s| s.code()).unwrap_or(1);
    if status == 0 {
        running.succeeded();
    }
    if status == 0 && service.writes() {
        auth.repos().after_push(&path);
    }
    let _ = write.exit_status(status as u32).await;
    let _ = write.eof().await;
    let _ = write.close().await;
    // The last window of output may still wait in russh for a slow client:
    // the operation (which a shutdown waits for) lasts until the client's
    // Close says it has everything.
    let stop_input = input.abort_handle();
    let closed = async {
        if let Ok(mut read) = input.await {
            while let Some(msg) = read.wait().await {
                if matches!(msg, ChannelMsg::Close) {
                    break;
                }
            }
        }
    };
    let _ = tokio::time::timeout(CLIENT_CLOSE, closed).await;
    stop_input.abort();
    drop(running);
}

/// How long an operation waits for the client to take its last output.
const CLIENT_CLOSE: std::time::Duration = std::time::Duration::from_secs(30);
