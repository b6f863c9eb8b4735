//! Waiting for the owner to approve a mailed link (accounts with no
//! password): the command says where the link went, then asks the auth
//! service every few seconds until it is approved or expires.

use std::time::Duration;

use twostep_auth::Approval;

use crate::handler::Job;
use crate::io::Io;

const POLL: Duration = Duration::from_secs(2);

/// The approval's handle once approved; `None` (said why) otherwise.
pub async fn wait<I: Io>(job: &mut Job<I>, what: &str) -> Option<String> {
    let handle = match job
        .auth
        .links()
        .mail_ssh_approval(&job.user.id, what, &job.ctx)
        .await
    {
        Ok(h) => h,
        Err(e) => {
            job.say_err(&format!("{}\n", crate::handler::refusal_text(e)))
                .await;
            return None;
        }
    };
    let minutes = twostep_auth::SSH_CONFIRM_TTL / 60;
    job.say(&format!(
        "Your account has no password, so we mailed you a link to approve {what}.\n\
         Open it in a browser where you are signed in, and approve. Waiting (up to {minutes} minutes)...\n"
    ))
    .await;
    let deadline =
        tokio::time::Instant::now() + Duration::from_secs(twostep_auth::SSH_CONFIRM_TTL as u64);
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(POLL).await;
        match job.auth.links().ssh_approval(&handle).await {
            Ok(Approval::Approved) => return Some(handle),
            Ok(Approval::Waiting) => continue,
            Ok(Approval::Gone) | Err(_) => break,
        }
    }
    job.say_err("The link was not approved in time; nothing changed.\n")
        .await;
    None
}
