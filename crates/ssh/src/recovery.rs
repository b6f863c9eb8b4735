//! `ssh git@HOST recovery_codes`: the key says who; the account password,
//! read from the channel (not echoed on a pty), is the second proof.

use russh::ChannelMsg;

use crate::handler::Job;

const MAX_PASSWORD: usize = 1024;

pub async fn run(mut job: Job) {
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
    let Some(password) = read_line(&mut job).await else {
        job.say_err("\nNo password given; nothing changed.\n").await;
        job.finish(1).await;
        return;
    };
    if job.pty {
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

/// One line typed or piped: ends at Enter (`\r` on a pty, `\n` otherwise) or EOF.
async fn read_line(job: &mut Job) -> Option<String> {
    let mut buf: Vec<u8> = Vec::new();
    loop {
        match job.channel.wait().await? {
            ChannelMsg::Data { data } => {
                for &b in data.iter() {
                    match b {
                        b'\r' | b'\n' => return Some(String::from_utf8_lossy(&buf).into_owned()),
                        3 | 4 if job.pty => return None, // Ctrl-C, Ctrl-D
                        0x7f | 0x08 if job.pty => {
                            buf.pop();
                        }
                        _ if buf.len() < MAX_PASSWORD => buf.push(b),
                        _ => {}
                    }
                }
            }
            ChannelMsg::Eof | ChannelMsg::Close => {
                return (!buf.is_empty()).then(|| String::from_utf8_lossy(&buf).into_owned());
            }
            _ => {}
        }
    }
}
