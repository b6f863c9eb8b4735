//! Git over SSH with a workspace's user certificate. The connection was let
//! in because some workspace has (or had) the certificate's authority; each
//! command then names a workspace, and the certificate acts there as the
//! member its principal names — or the person reads why not (expired, wrong
//! principal, authority removed, not a member).

use russh::keys::{Certificate, HashAlg};
use russh::server::Msg;
use russh::Channel;
use twostep_auth::{Action, AuthService, Caller, CallerKind, Ctx, SshCertificate};

use crate::command::Command;
use crate::handler::{refusal_text, Job};
use crate::io::Io;

/// What twostep reads of a certificate whose signature russh verified.
pub(crate) fn facts(cert: &Certificate) -> SshCertificate {
    SshCertificate {
        ca_fingerprint: cert
            .signature_key()
            .fingerprint(HashAlg::Sha256)
            .to_string(),
        principals: cert.valid_principals().to_vec(),
        valid_after: cert.valid_after(),
        valid_before: cert.valid_before(),
        for_users: cert.cert_type().is_user(),
        key_id: cert.key_id().to_string(),
        critical_options: cert
            .critical_options()
            .keys()
            .map(|k| k.chars().take(40).collect())
            .take(8)
            .collect(),
    }
}

/// Runs `command` (`None`: no command, the greeting) for a certificate.
pub(crate) async fn run(
    auth: AuthService,
    cert: SshCertificate,
    channel: Channel<Msg>,
    ctx: Ctx,
    git_protocol: Option<String>,
    command: Option<Command>,
) {
    let Some(Command::Git {
        service,
        owner,
        repo,
    }) = command.clone()
    else {
        // Only Git takes a certificate: the requirement table says so.
        let action = command
            .as_ref()
            .and_then(Command::action)
            .unwrap_or(Action::SshGreeting);
        let why = match auth.accepts(action, CallerKind::SshCertificate) {
            Err(r) => refusal_text(r.error),
            Ok(()) => "An SSH certificate reaches only Git repositories.".to_string(),
        };
        return refuse(channel, why).await;
    };
    let user = match auth.signin().certificate_user(&cert, &owner).await {
        Ok(user) => user,
        Err(e) => {
            tracing::info!(key_id = %cert.key_id, ca = %cert.ca_fingerprint, ip = %ctx.ip, "ssh certificate refused");
            return refuse(channel, refusal_text(e)).await;
        }
    };
    tracing::info!(user = %user.username, key_id = %cert.key_id, ca = %cert.ca_fingerprint, ip = %ctx.ip, "ssh certificate accepted");
    let via = Caller::SshCertificate;
    let command = command.unwrap_or(Command::Unknown(String::new()));
    if let Err(why) = crate::gate::admit(&auth, &user, &via, Action::SshGit, Some(&command)).await {
        return refuse(channel, why).await;
    }
    let job = Job {
        auth,
        user,
        via,
        ctx,
        channel,
        pty: false,
        terminal: false,
        git_protocol,
    };
    crate::git::run(job, service, &owner, &repo).await;
}

async fn refuse(mut channel: Channel<Msg>, why: String) {
    channel
        .write(true, format!("ERROR: {why}\n").into_bytes())
        .await;
    channel.finish(1).await;
}
