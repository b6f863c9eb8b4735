//! File modes and descriptor limits of the process. Everything twostep writes
//! (database, keys, the mail outbox with its reset links, repositories) is
//! private to the server's user: the umask is 077 and the data folder 0700.
//! Looser modes found at start are reported, not changed.

use std::path::Path;

/// New files 0600, new folders 0700, for this process and the git it spawns.
pub fn private_umask() {
    #[cfg(unix)]
    // SAFETY: umask only swaps the process's file-mode mask.
    unsafe {
        libc::umask(0o077);
    }
}

/// Creates the data folder 0700.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
}

/// Paths in the data folder that others can read or enter.
pub fn too_open(data_dir: &Path) -> Vec<(std::path::PathBuf, u32)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mut found = Vec::new();
        let mut check = |p: &Path| {
            if let Ok(m) = std::fs::symlink_metadata(p) {
                let mode = m.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    found.push((p.to_path_buf(), mode));
                }
            }
        };
        check(data_dir);
        if let Ok(entries) = std::fs::read_dir(data_dir) {
            for e in entries.flatten() {
                check(&e.path());
            }
        }
        if let Ok(entries) = std::fs::read_dir(data_dir.join("outbox")) {
            for e in entries.flatten() {
                check(&e.path());
            }
        }
        found
    }
    #[cfg(not(unix))]
    {
        let _ = data_dir;
        Vec::new()
    }
}

/// Warns about every path `too_open` finds.
pub fn warn_if_open(data_dir: &Path) {
    for (path, mode) in too_open(data_dir) {
        tracing::warn!(
            path = %path.display(),
            mode = %format!("{mode:o}"),
            "readable by other users of this machine; run chmod -R go-rwx on the data folder"
        );
    }
}

/// Raises the open-files limit to the hard limit and returns it, so the
/// connection caps can be sized below it.
pub fn raise_fd_limit() -> u64 {
    #[cfg(unix)]
    // SAFETY: getrlimit/setrlimit read and write a plain struct we own.
    unsafe {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 {
            if r.rlim_cur < r.rlim_max {
                let want = libc::rlimit {
                    rlim_cur: r.rlim_max,
                    rlim_max: r.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &want) == 0 {
                    r.rlim_cur = r.rlim_max;
                }
            }
            return r.rlim_cur;
        }
    }
    1024
}
