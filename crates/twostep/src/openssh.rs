//! Behind OpenSSH, for sites that keep their sshd (GitLab's and Gitea's
//! model): `twostep keys` answers sshd's `AuthorizedKeysCommand` with a
//! forced `twostep serv KEY-ID` line, and `twostep serv` runs the command.

use anyhow::Context;
use clap::Args;

use crate::cli::Options;
use crate::config::Config;

#[derive(Args, Debug)]
pub struct KeysArgs {
    #[command(flatten)]
    pub options: Options,
    /// The offered key's fingerprint, as sshd's `%f` gives it (SHA256:…).
    #[arg(long, value_name = "FP")]
    pub fingerprint: String,
}

#[derive(Args, Debug)]
pub struct ServArgs {
    #[command(flatten)]
    pub options: Options,
    /// The id of the key sshd accepted (from `twostep keys`).
    pub key_id: String,
}

/// Prints the `authorized_keys` line for a registered key, nothing otherwise.
pub async fn keys(args: KeysArgs) -> anyhow::Result<()> {
    let cfg = Config::load(&args.options)?;
    let store = twostep_store::Store::connect(&cfg.database_url)
        .await
        .with_context(|| format!("opening the database {}", cfg.database_display()))?;
    let wired = crate::serve::wire_with(&cfg, store.clone()).await?;
    let found = wired
        .auth
        .signin()
        .ssh_key_for_sshd(args.fingerprint.trim())
        .await;
    store.close().await;
    if let Some((id, options, public_key)) = found? {
        let command = serv_command(&args.options, &id)?;
        // `restrict` turns off forwarding of every kind; a pty stays possible
        // so `ssh -t … recovery_codes` can hide the password being typed.
        // A FIDO key's own options (verify-required, no-touch-required) follow.
        let extra = if options.is_empty() {
            String::new()
        } else {
            format!(",{options}")
        };
        println!("command=\"{command}\",restrict,pty{extra} {public_key}");
    }
    Ok(())
}

pub async fn serv(args: ServArgs) -> anyhow::Result<u32> {
    let cfg = Config::load(&args.options)?;
    crate::logs::to_file(&cfg.data_dir.join("serv.log"));
    let store = twostep_store::Store::connect(&cfg.database_url)
        .await
        .with_context(|| format!("opening the database {}", cfg.database_display()))?;
    let wired = crate::serve::wire_with(&cfg, store.clone()).await?;
    let env = |name: &str| std::env::var(name).ok();
    let req = twostep_ssh::ServRequest {
        key_id: args.key_id,
        command: env("SSH_ORIGINAL_COMMAND"),
        client_ip: env("SSH_CONNECTION")
            .and_then(|c| c.split_whitespace().next().map(str::to_string))
            .unwrap_or_default(),
        git_protocol: env("GIT_PROTOCOL"),
    };
    let status = twostep_ssh::serv(wired.auth, req).await;
    store.close().await;
    Ok(status)
}

/// This binary, `serv`, the options that say where the data is, the key id:
/// each word quoted for the shell sshd runs it with.
fn serv_command(o: &Options, key_id: &str) -> anyhow::Result<String> {
    let exe = std::env::current_exe().context("finding this program's path")?;
    let mut words = vec![exe.to_string_lossy().into_owned(), "serv".to_string()];
    let mut pass = |flag: &str, value: Option<String>| {
        if let Some(v) = value {
            words.push(flag.to_string());
            words.push(v);
        }
    };
    let path = |p: &Option<std::path::PathBuf>| {
        p.as_ref().map(|p| {
            std::path::absolute(p)
                .unwrap_or(p.clone())
                .to_string_lossy()
                .into_owned()
        })
    };
    pass("--config", path(&o.config));
    pass("--data-dir", path(&o.data_dir));
    pass("--database-url", o.database_url.clone());
    words.push(key_id.to_string());
    for w in &words {
        anyhow::ensure!(
            !w.contains(['"', '\\', '\'', '\n', '\r', '\0']),
            "cannot put {w:?} in an authorized_keys command: quotes, backslashes and line breaks are not allowed"
        );
    }
    Ok(words
        .iter()
        .map(|w| format!("'{w}'"))
        .collect::<Vec<_>>()
        .join(" "))
}
