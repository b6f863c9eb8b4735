//! Repository housekeeping, as GitLab and Gitea do it: pushed packs are kept
//! as they arrive (git would explode a push of under 100 objects into loose
//! objects, and every later clone would deflate them again), and after each
//! push `git maintenance run --auto` consolidates packs when git thinks it is
//! due: one repository at a time, one run at a time on this node, in the
//! background, logged.

use super::Repos;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Settings every git child gets, through git's own environment variables.
pub const GIT_CONFIG_ENV: [(&str, &str); 3] = [
    ("GIT_CONFIG_COUNT", "1"),
    ("GIT_CONFIG_KEY_0", "receive.unpackLimit"),
    ("GIT_CONFIG_VALUE_0", "1"),
];

/// Repositories with a run under way, and those pushed to meanwhile.
pub(crate) struct Housekeeping {
    state: Mutex<(HashSet<PathBuf>, HashSet<PathBuf>)>,
    one_at_a_time: tokio::sync::Semaphore,
}

impl Housekeeping {
    pub(crate) fn new() -> Arc<Housekeeping> {
        Arc::new(Housekeeping {
            state: Mutex::default(),
            one_at_a_time: tokio::sync::Semaphore::new(1),
        })
    }

    /// Marks `repo` as pushed to; true when a run must start for it.
    fn claim(&self, repo: &Path) -> bool {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if s.0.contains(repo) {
            s.1.insert(repo.to_path_buf());
            false
        } else {
            s.0.insert(repo.to_path_buf());
            true
        }
    }

    /// After a run: true when a push came in meanwhile (run once more).
    fn again(&self, repo: &Path) -> bool {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if s.1.remove(repo) {
            true
        } else {
            s.0.remove(repo);
            false
        }
    }
}

fn maintenance_command(repo: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new("git");
    cmd.arg("-C")
        .arg(repo)
        .args(["maintenance", "run", "--auto", "--quiet"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", repo);
    cmd
}

async fn maintain(repo: &Path) {
    let started = std::time::Instant::now();
    let out = tokio::process::Command::from(maintenance_command(repo))
        .kill_on_drop(true)
        .output()
        .await;
    match out {
        Ok(o) if o.status.success() => {
            tracing::info!(repository = %repo.display(), ms = started.elapsed().as_millis() as u64, "repository housekeeping done")
        }
        Ok(o) => {
            tracing::warn!(repository = %repo.display(), stderr = %String::from_utf8_lossy(&o.stderr).trim(), "repository housekeeping failed")
        }
        Err(e) => {
            tracing::warn!(repository = %repo.display(), error = %e, "could not run git maintenance")
        }
    }
}

impl Repos<'_> {
    /// Called after a push was accepted (SSH or HTTPS).
    pub fn after_push(&self, repo: &Path) {
        let hk = self.inner.housekeeping.clone();
        if !hk.claim(repo) {
            return;
        }
        let repo = repo.to_path_buf();
        tokio::spawn(async move {
            loop {
                if let Ok(_turn) = hk.one_at_a_time.acquire().await {
                    maintain(&repo).await;
                }
                if !hk.again(&repo) {
                    break;
                }
            }
        });
    }
}

/// `twostep serv` exits as soon as git is done: its housekeeping runs on
/// without it (git's own lock keeps two runs on one repository apart).
#[allow(clippy::zombie_processes)] // reaped by init once serv has exited
pub fn after_push_detached(repo: &Path) {
    let spawned = maintenance_command(repo)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match spawned {
        Ok(_) => tracing::info!(repository = %repo.display(), "repository housekeeping started"),
        Err(e) => {
            tracing::warn!(repository = %repo.display(), error = %e, "could not run git maintenance")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_push_during_a_run_asks_for_one_more_run() {
        let hk = Housekeeping::new();
        let r = Path::new("/r/a.git");
        assert!(hk.claim(r));
        assert!(!hk.claim(r), "a run is under way");
        assert!(!hk.claim(r));
        assert!(hk.again(r), "one more run for the pushes meanwhile");
        assert!(!hk.again(r));
        assert!(hk.claim(r), "idle again");
    }
}
