//! The bundled SQLite syncs a commit with fdatasync(), not fsync(), in every
//! build (vendor/libsqlite3-sys adds HAVE_FDATASYNC for unix targets): this
//! test binary runs itself under strace, doing one synced commit on a fresh
//! database, and reads which sync calls reached the database and its WAL.

use std::process::Command;

use twostep_core::{UnixTime, UserId};
use twostep_store::{users, Store};

/// Set in the child: the database file to write.
const CHILD: &str = "TWOSTEP_FDATASYNC_CHILD";

/// The child's half: does nothing unless started by the test below.
#[tokio::test(flavor = "current_thread")]
async fn synced_commit_for_strace() {
    let Ok(path) = std::env::var(CHILD) else {
        return;
    };
    let store = Store::open(&format!("sqlite://{path}?mode=rwc"))
        .await
        .unwrap();
    let mut tx = store.begin().await.unwrap();
    users::insert(
        &mut tx,
        users::NewUser {
            id: &UserId::new("u1".into()),
            username: "user1",
            email: "user1@example.net",
            password_hash: None,
            now: UnixTime::from_secs(100),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    store.close().await;
}

#[test]
fn a_synced_commit_uses_fdatasync() {
    if !cfg!(target_os = "linux") {
        eprintln!("skipped: strace runs on Linux only");
        return;
    }
    if Command::new("strace").arg("-V").output().is_err() {
        eprintln!("skipped: strace is not installed (scripts/test.sh installs it)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("strace")
        .args(["-f", "-y", "-e", "trace=fsync,fdatasync", "-o"])
        .arg(dir.path().join("trace"))
        .arg(&exe)
        .args(["--exact", "synced_commit_for_strace", "--test-threads=1"])
        .env(CHILD, &db)
        .output()
        .unwrap();
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        if err.contains("ptrace") || err.contains("Operation not permitted") {
            eprintln!("skipped: strace may not trace here: {err}");
            return;
        }
        panic!("the child failed: {err}");
    }
    let trace = std::fs::read_to_string(dir.path().join("trace")).unwrap();
    let db = db.display().to_string();
    // `fdatasync(5</tmp/…/t.db-wal>) = 0`: the call and the file it synced.
    let synced = |call: &str| {
        trace
            .lines()
            .filter(|l| l.contains(&format!("{call}(")))
            .filter(|l| l.contains(&format!("<{db}>")) || l.contains(&format!("<{db}-wal>")))
            .count()
    };
    assert!(
        synced("fdatasync") > 0,
        "no fdatasync on the database or its WAL:\n{trace}"
    );
    assert_eq!(
        synced("fsync"),
        0,
        "fsync on the database or its WAL:\n{trace}"
    );
}
