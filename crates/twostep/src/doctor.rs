//! `twostep doctor`: checks what the server needs and says what to fix:
//! the data folder and its modes, the keys, the database and its schema,
//! free disk, git. It changes nothing.

use std::path::Path;

use crate::config::Config;

struct Report {
    problems: usize,
}

impl Report {
    fn ok(&self, what: &str) {
        println!("ok   {what}");
    }

    fn fix(&mut self, what: &str, how: &str) {
        self.problems += 1;
        println!("FIX  {what}\n     {how}");
    }
}

#[cfg(unix)]
fn mode(p: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .ok()
        .map(|m| m.permissions().mode() & 0o777)
}

#[cfg(not(unix))]
fn mode(_: &Path) -> Option<u32> {
    None
}

/// Bytes free for the server's user, and the share of the disk they are.
fn free_space(dir: &Path) -> Option<(u64, f64)> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
        // SAFETY: statvfs fills a plain struct we own from a NUL-terminated path.
        let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
        if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
            return None;
        }
        let free = s.f_bavail as u64 * s.f_frsize as u64;
        let total = (s.f_blocks as u64 * s.f_frsize as u64).max(1);
        Some((free, free as f64 / total as f64))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}

/// `git --version` as (major, minor), if git runs.
fn git_version() -> Option<(u32, u32, String)> {
    let out = std::process::Command::new("git")
        .arg("--version")
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let v = text.split_whitespace().nth(2)?;
    let mut parts = v.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor, text))
}

fn check_private(r: &mut Report, path: &Path, what: &str, want: u32) {
    match mode(path) {
        Some(m) if m & 0o077 != 0 => r.fix(
            &format!(
                "{what} {} is readable by other users (mode {m:o})",
                path.display()
            ),
            &format!("chmod {want:o} {}", path.display()),
        ),
        Some(_) => r.ok(&format!("{what} {} is private", path.display())),
        None => {}
    }
}

pub async fn run(cfg: Config) -> anyhow::Result<()> {
    let mut r = Report { problems: 0 };
    let data = &cfg.data_dir;
    if !data.is_dir() {
        r.fix(
            &format!("the data folder {} does not exist", data.display()),
            "start the server once (twostep serve) or run twostep migrate, with the same --data-dir",
        );
    } else {
        check_private(&mut r, data, "the data folder", 0o700);
        let key = data.join("secret.key");
        if cfg.secret_key.is_some() {
            r.ok("the secret key comes from the configuration");
        } else if key.is_file() {
            check_private(&mut r, &key, "the secret key", 0o600);
        } else {
            r.fix(
                &format!("no secret key at {}", key.display()),
                "restore it from your backup (without it TOTP secrets cannot be read); on a new install, start the server once to make one",
            );
        }
        let host = cfg.host_key_path();
        if host.is_file() {
            check_private(&mut r, &host, "the SSH host key", 0o600);
        } else {
            r.fix(
                &format!("no SSH host key at {}", host.display()),
                "restore it from your backup, or let twostep serve make a new one (clients will warn of a changed key)",
            );
        }
        let repos = &cfg.repositories_dir;
        // Probed with a file that is removed at once; a missing folder is
        // made by the server, so its parent must take writes then.
        let probe = if repos.is_dir() {
            repos.as_path()
        } else {
            data
        }
        .join(".doctor");
        let writable =
            std::fs::write(&probe, b"ok").is_ok() && std::fs::remove_file(&probe).is_ok();
        if writable {
            r.ok(&format!(
                "the repositories folder {} takes writes",
                repos.display()
            ));
        } else {
            r.fix(
                &format!(
                    "the repositories folder {} takes no writes",
                    repos.display()
                ),
                "make it a folder owned by the server's user",
            );
        }
        match free_space(data) {
            Some((free, share)) if free < 1 << 30 || share < 0.05 => r.fix(
                &format!(
                    "only {} MB free ({:.0} %) where the data folder is",
                    free >> 20,
                    share * 100.0
                ),
                "free some space or move the data folder: pushes and the database need room",
            ),
            Some((free, share)) => r.ok(&format!(
                "{} GB free ({:.0} %) for the data folder",
                free >> 30,
                share * 100.0
            )),
            None => {}
        }
    }
    let sqlite_missing =
        cfg.database_url.starts_with("sqlite:") && !data.join("twostep.db").is_file();
    if sqlite_missing && cfg.database_url.contains(&data.display().to_string()) {
        r.fix(
            "no database yet",
            "run twostep migrate (or start the server) to create it",
        );
    } else {
        match twostep_store::Store::connect(&cfg.database_url).await {
            Err(e) => r.fix(
                &format!("cannot reach the database {}: {e}", cfg.database_display()),
                "check --database-url, that the server runs and that this user may connect",
            ),
            Ok(store) => {
                match store.pending_migrations().await {
                    Ok(p) if p.is_empty() => r.ok(&format!("the database {} is reachable and its schema is current", cfg.database_display())),
                    Ok(p) => r.fix(
                        &format!("the database schema lacks {} migration(s): {}", p.len(), p.join(", ")),
                        "run twostep migrate (nodes on the older version keep working until restarted)",
                    ),
                    Err(e) => r.fix(&format!("cannot read the schema version: {e}"), "run twostep migrate"),
                }
                store.close().await;
            }
        }
    }
    match git_version() {
        Some((major, minor, text)) if (major, minor) >= (2, 29) => r.ok(&text),
        Some((_, _, text)) => r.fix(
            &format!("{text} is too old"),
            "install git 2.29 or newer (git maintenance)",
        ),
        None => r.fix(
            "git does not run",
            "install git: the server spawns it for every clone and push",
        ),
    }
    if r.problems == 0 {
        println!("Everything looks right.");
        Ok(())
    } else {
        anyhow::bail!("{} thing(s) to fix", r.problems)
    }
}
