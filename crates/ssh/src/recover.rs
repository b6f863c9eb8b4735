//! `ssh git@HOST recover`: the SSH key is the second proof of a self-service
//! recovery (a shorter wait); `recover --cancel` cancels one under way.

use crate::handler::Job;
use crate::io::Io;

pub async fn run<I: Io>(mut job: Job<I>, cancel: bool) {
    let name = job.user.username.clone();
    let hint = job.auth.settings().ssh_hint.clone();
    let result = if cancel {
        job.auth
            .recovery()
            .cancel_recovery_over_ssh(&job.user.id, &job.ctx)
            .await
            .map(|()| {
                format!("The recovery request for {name} is cancelled. Nothing was changed.\n")
            })
    } else {
        job.auth
            .recovery().recover_over_ssh(&job.user.id, &job.ctx)
            .await
            .map(|st| {
                let when = if st.ready {
                    "It is ready now".to_string()
                } else {
                    format!("It is ready on {} UTC", st.ready_utc)
                };
                format!(
                    "A recovery request for {name} is under way, confirmed by your SSH key. {when}: then sign in \
                     with your password and follow the link we mail you. We mailed the account's address.\n\
                     Not you? Cancel it: {hint} recover --cancel\n"
                )
            })
    };
    match result {
        Ok(text) => {
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
