//! `ssh git@HOST recovery_codes`: the key says who; the account password,
//! read from the channel (not echoed on a pty), is the second proof, or,
//! for an account with no password, the owner's approval of a mailed link.

use twostep_auth::SshProof;

use crate::handler::Job;
use crate::io::Io;

pub async fn run<I: Io>(mut job: Job<I>) {
    let name = job.user.username.clone();
    let proof = match job
        .auth
        .recovery()
        .recovery_codes_over_ssh_proof(&job.user.id)
        .await
    {
        Ok(proof) => proof,
        Err(e) => {
            job.say_err(&format!("{}\n", crate::handler::refusal_text(e)))
                .await;
            job.finish(1).await;
            return;
        }
    };
    let made = if proof == SshProof::MailedApproval {
        match crate::approval::wait(&mut job, twostep_auth::RECOVERY_CODES_REQUEST).await {
            Some(handle) => {
                job.auth
                    .recovery()
                    .recovery_codes_over_ssh_approved(&job.user.id, &handle, &job.ctx)
                    .await
            }
            None => {
                job.finish(1).await;
                return;
            }
        }
    } else {
        job.warn_if_shown("recovery_codes").await;
        job.prompt(&format!("Password for {name}: ")).await;
        let Some(password) = crate::prompt::Lines::default().next(&mut job).await else {
            job.say_err("\nNo password given; nothing changed.\n").await;
            job.finish(1).await;
            return;
        };
        if job.terminal {
            job.say("\n").await;
        }
        job.auth
            .recovery()
            .recovery_codes_over_ssh(&job.user.id, &password, &job.ctx)
            .await
    };
    match made {
        Ok(codes) => {
            let mut text = format!(
                "Here are 6 new recovery codes for {name}. Each works once in place of a code from your app;\n\
                 the previous codes no longer work. Keep them somewhere safe.\n\n"
            );
            for c in &codes {
                text.push_str(c.display());
                text.push('\n');
            }
            job.say(&text).await;
            job.finish(0).await;
        }
        Err(e) => {
            job.say_err(&format!("{}\n", crate::handler::refusal_text(e)))
                .await;
            job.finish(1).await;
        }
    }
}
