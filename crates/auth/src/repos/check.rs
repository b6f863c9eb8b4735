//! Repository folders and records agree, whatever moment a crash chose.
//!
//! Creating: the bare repository is made under a temporary name
//! (`.NAME.git.creating-…`, never a repository name: those cannot start
//! with a dot), renamed into place, then the record is committed.
//! Deleting: a marker file goes into the folder, the record's removal is
//! committed, the folder is renamed to `.NAME.git.deleted-…`, then removed.
//! So a record never lacks its folder; a crash can leave only a temporary
//! folder, an empty repository without a record, or a marked one, and `check_repositories` (at start and with the
//! periodic purge) removes those and reports anything else it cannot explain.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use twostep_store::repositories as store_repos;

use super::Repos;
use crate::Result;

/// In a repository folder whose record's removal is being committed.
pub(crate) const DELETING_MARKER: &str = "twostep-deleting";

/// How old an unexplained folder must be before the check touches it: a
/// request (on this node or, on PostgreSQL, another) may be between its
/// rename and its commit. Only at the start of a SQLite server, before it
/// serves anything, is nobody else changing repositories.
const GRACE: Duration = Duration::from_secs(600);

pub(crate) fn creating_name(path: &Path) -> PathBuf {
    temporary(path, "creating")
}

/// Where a deleted repository goes once its record's removal committed.
pub(crate) fn deleted_name(path: &Path) -> PathBuf {
    temporary(path, "deleted")
}

fn temporary(path: &Path, what: &str) -> PathBuf {
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tag = twostep_core::token::new_id(&mut crate::rng());
    path.with_file_name(format!(".{file}.{what}-{tag}"))
}

/// A bare repository with no refs at all (made, never pushed to).
pub(crate) async fn is_empty_repository(path: &Path) -> bool {
    let out = tokio::process::Command::new("git")
        .arg("-C")
        .arg(path)
        .args(["for-each-ref", "--count=1", "--format=%(refname)"])
        .output()
        .await;
    matches!(out, Ok(o) if o.status.success() && o.stdout.is_empty())
}

/// What the check found and did, for the log and `twostep doctor`.
#[derive(Debug, Default)]
pub struct RepoCheck {
    /// Leftovers removed: temporary folders, deleted repositories, empty
    /// repositories whose record was never committed.
    pub removed: Vec<String>,
    /// Folders with commits but no record: left alone for the operator.
    pub strays: Vec<String>,
    /// Records whose folder is missing (a network filesystem not mounted?).
    pub missing: Vec<String>,
}

fn old_enough(path: &Path, grace: Duration) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    let changed = meta.mtime().max(meta.ctime());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    now - changed >= grace.as_secs() as i64
}

/// The quarantine folders (`objects/tmp_objdir-incoming-*`) of pushes that
/// were killed (git removes its own when it ends in any other way), once
/// nothing in them has changed for `grace`: a push writing its pack keeps
/// touching the file it writes.
fn abandoned_pushes(repo: &Path, grace: Duration) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(repo.join("objects")) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("tmp_objdir-incoming-")
        })
        .map(|e| e.path())
        .filter(|p| quiet_for(p, grace))
        .collect()
}

/// Whether nothing in the tree at `path` changed for `grace`.
fn quiet_for(path: &Path, grace: Duration) -> bool {
    if !old_enough(path, grace) {
        return false;
    }
    match std::fs::read_dir(path) {
        Ok(entries) => entries.flatten().all(|e| quiet_for(&e.path(), grace)),
        Err(_) => true,
    }
}

impl Repos<'_> {
    /// `before_serving`: called at start, before any request is served.
    pub async fn check_repositories(&self, before_serving: bool) -> Result<RepoCheck> {
        let alone = before_serving && self.store().backend() == twostep_store::Backend::Sqlite;
        let grace = if alone { Duration::ZERO } else { GRACE };
        let records: HashSet<(String, String)> = {
            let mut c = self.store().conn().await?;
            store_repos::all_paths(&mut c).await?.into_iter().collect()
        };
        let root = self.settings().repos_dir.clone();
        let mut report = RepoCheck::default();
        let mut seen = HashSet::new();
        let owners = match std::fs::read_dir(&root) {
            Ok(d) => d.flatten().collect::<Vec<_>>(),
            Err(_) => Vec::new(),
        };
        for owner in owners.iter().filter(|o| o.path().is_dir()) {
            let owner_name = owner.file_name().to_string_lossy().into_owned();
            let Ok(entries) = std::fs::read_dir(owner.path()) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let file = entry.file_name().to_string_lossy().into_owned();
                let shown = format!("{owner_name}/{file}");
                if file.starts_with('.') && file.contains(".git.deleted-") {
                    // Renamed after the commit: always garbage.
                    if std::fs::remove_dir_all(&path).is_ok() {
                        report.removed.push(shown);
                    }
                    continue;
                }
                if file.starts_with('.') && file.contains(".git.creating-") {
                    if old_enough(&path, grace) && std::fs::remove_dir_all(&path).is_ok() {
                        report.removed.push(shown);
                    }
                    continue;
                }
                let Some(name) = file.strip_suffix(".git") else {
                    continue;
                };
                let key = (owner_name.clone(), name.to_string());
                let recorded = records.contains(&key);
                let marked = path.join(DELETING_MARKER).exists();
                if recorded {
                    if marked && old_enough(&path.join(DELETING_MARKER), grace) {
                        // The removal of the record did not commit.
                        let _ = std::fs::remove_file(path.join(DELETING_MARKER));
                    }
                    for dir in abandoned_pushes(&path, grace) {
                        if std::fs::remove_dir_all(&dir).is_ok() {
                            let name = dir.file_name().unwrap_or_default().to_string_lossy();
                            report.removed.push(format!("{shown}/objects/{name}"));
                        }
                    }
                    seen.insert(key);
                    continue;
                }
                let empty = is_empty_repository(&path).await;
                if marked || (empty && old_enough(&path, grace)) {
                    if std::fs::remove_dir_all(&path).is_ok() {
                        report.removed.push(shown);
                    }
                } else if !empty {
                    report.strays.push(shown);
                }
            }
        }
        let mut missing: Vec<String> = records
            .difference(&seen)
            .map(|(o, n)| format!("{o}/{n}.git"))
            .collect();
        missing.sort();
        report.missing = missing;
        for r in &report.removed {
            tracing::info!(path = %r, "removed a repository folder left by an interrupted change");
        }
        for s in &report.strays {
            tracing::warn!(path = %s, root = %root.display(), "a repository folder has no record: move it out of the repositories folder, or restore its record from a backup");
        }
        for m in &report.missing {
            tracing::error!(path = %m, root = %root.display(), "a repository's folder is missing: is the repositories folder the right one (and mounted)?");
        }
        Ok(report)
    }
}
