//! `ssh git@HOST password`: the key says who; a current two-step code (or a
//! recovery code) is the second proof, or, for an account with no password,
//! the owner's approval of a mailed link; the new password is typed twice.
//! Nothing typed is echoed; piped lines work too.

use twostep_auth::SshProof;

use crate::handler::Job;
use crate::io::Io;
use crate::prompt::Lines;

pub async fn run<I: Io>(mut job: Job<I>) {
    let name = job.user.username.clone();
    let proof = match job
        .auth
        .recovery()
        .password_over_ssh_proof(&job.user.id)
        .await
    {
        Ok(proof) => proof,
        Err(e) => return fail(job, &crate::handler::refusal_text(e)).await,
    };
    let mut lines = Lines::default();
    job.warn_if_shown("password").await;
    if proof == SshProof::MailedApproval {
        return first_password(job, lines).await;
    }
    let Some(code) = ask(
        &mut job,
        &mut lines,
        &format!("Two-step code or recovery code for {name}: "),
    )
    .await
    else {
        return fail(job, "No code given; nothing changed.").await;
    };
    let Some(first) = ask(&mut job, &mut lines, "New password: ").await else {
        return fail(job, "No password given; nothing changed.").await;
    };
    let Some(second) = ask(&mut job, &mut lines, "New password again: ").await else {
        return fail(job, "No password given; nothing changed.").await;
    };
    if first != second {
        return fail(job, "The two passwords differ; nothing changed.").await;
    }
    match job
        .auth
        .recovery()
        .reset_password_over_ssh(&job.user.id, &code, &first, &job.ctx)
        .await
    {
        Ok(()) => {
            job.say(&format!(
                "The password of {name} is changed. Every session was signed out: sign in with the new password.\n"
            ))
            .await;
            job.finish(0).await;
        }
        Err(e) => fail(job, &crate::handler::refusal_text(e)).await,
    }
}

/// An account with no password: the new one typed twice, then the owner
/// approves the mailed link.
async fn first_password<I: Io>(mut job: Job<I>, mut lines: Lines) {
    let name = job.user.username.clone();
    let Some(first) = ask(&mut job, &mut lines, "New password: ").await else {
        return fail(job, "No password given; nothing changed.").await;
    };
    let Some(second) = ask(&mut job, &mut lines, "New password again: ").await else {
        return fail(job, "No password given; nothing changed.").await;
    };
    if first != second {
        return fail(job, "The two passwords differ; nothing changed.").await;
    }
    if let Err(e) = job
        .auth
        .recovery()
        .new_password_acceptable(&job.user.id, &first)
        .await
    {
        return fail(job, &crate::handler::refusal_text(e)).await;
    }
    let Some(handle) = crate::approval::wait(&mut job, twostep_auth::PASSWORD_REQUEST).await else {
        job.finish(1).await;
        return;
    };
    match job
        .auth
        .recovery()
        .set_password_over_ssh_approved(&job.user.id, &handle, &first, &job.ctx)
        .await
    {
        Ok(()) => {
            job.say(&format!(
                "{name} has a password now. Every session was signed out: sign in with it, or through your provider.\n"
            ))
            .await;
            job.finish(0).await;
        }
        Err(e) => fail(job, &crate::handler::refusal_text(e)).await,
    }
}

/// Prompts and reads one line; on a pty the Enter that ended it is shown.
async fn ask<I: Io>(job: &mut Job<I>, lines: &mut Lines, prompt: &str) -> Option<String> {
    job.prompt(prompt).await;
    let line = lines.next(job).await;
    if job.terminal || line.is_none() {
        job.say("\n").await;
    }
    line
}

async fn fail<I: Io>(mut job: Job<I>, message: &str) {
    job.say_err(&format!("{message}\n")).await;
    job.finish(1).await;
}
