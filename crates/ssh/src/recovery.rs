//! `ssh git@HOST recovery_codes`: the key says who; the account password,
//! read from the channel (not echoed on a pty), is the second proof.

use crate::handler::Job;
use crate::io::Io;

pub async fn run<I: Io>(mut job: Job<I>) {
    let name = job.user.username.clone();
    if let Err(e) = job
        .auth
        .recovery_codes_over_ssh_possible(&job.user.id)
        .await
    {
        job.say_err(&format!("{}\n", crate::handler::refusal_text(e)))
            .await;
        job.finish(1).await;
        return;
    }
    job.say(&format!("Password for {name}: ")).await;
    let Some(password) = crate::prompt::Lines::default().next(&mut job).await else {
        job.say_err("\nNo password given; nothing changed.\n").await;
        job.finish(1).await;
        return;
    };
    if job.terminal {
        job.say("\n").await;
    }
    match job
        .auth
        .recovery_codes_over_ssh(&job.user.id, &password, &job.ctx)
        .await
    {
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
