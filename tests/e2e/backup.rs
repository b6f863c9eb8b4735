//! `twostep backup` while pushes run, `twostep restore` into a new folder,
//! and the restored server signs the same user in with the same
//! authenticator and serves the same repository under the same host key.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::json;

use crate::common;
use crate::postgres::Database;

use common::accounts::{account, enable_two_step, PASSWORD};
use common::api::ApiClient;
use common::git::{working_copy, Git};
use common::otp::Phone;
use common::{Server, ServerOptions};

fn twostep(args: &[&str], data_dir: &Path, database_url: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_twostep"));
    c.args(args).arg("--data-dir").arg(data_dir);
    if let Some(url) = database_url {
        c.args(["--database-url", url]);
    }
    c.output().unwrap()
}

fn said(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn host_key(port: u16) -> String {
    let out = Command::new("ssh-keyscan")
        .args(["-t", "ed25519", "-p", &port.to_string(), "127.0.0.1"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.split_whitespace()
        .last()
        .unwrap_or_default()
        .to_string()
}

/// Pushes one commit after another until told to stop; the commits git
/// reported as pushed.
fn keep_pushing(
    git: Git,
    work: std::path::PathBuf,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Vec<String>> {
    std::thread::spawn(move || {
        let mut pushed = Vec::new();
        let mut i = 0;
        while !stop.load(Ordering::SeqCst) {
            i += 1;
            std::fs::write(work.join(format!("during-{i}.txt")), format!("{i}\n")).unwrap();
            git.ok(&["add", "."], Some(&work));
            git.ok(
                &["commit", "-q", "-m", &format!("during backup {i}")],
                Some(&work),
            );
            if git
                .run(&["push", "-q", "origin", "HEAD:main"], Some(&work))
                .status
                .success()
            {
                pushed.push(
                    git.ok(&["rev-parse", "HEAD"], Some(&work))
                        .trim()
                        .to_string(),
                );
            }
        }
        pushed
    })
}

struct Before {
    phone: Phone,
    key: std::path::PathBuf,
    pushed_before: Vec<String>,
    host_key: String,
}

/// An account with two-step on and a repository with history, then a backup
/// taken while pushes run.
fn back_up(server: &Server, file: &Path, database_url: Option<&str>) -> Before {
    let bea = account(server, "bea");
    let (phone, _) = enable_two_step(server, &bea);
    bea.api.ok(
        "POST",
        "/repositories",
        Some(json!({"name": "work", "description": "", "private": true})),
    );
    bea.api.ok(
        "POST",
        "/repositories",
        Some(json!({"name": "empty", "description": "", "private": true})),
    );
    let git = Git::new(server, "bea", &bea.key);
    let work = server.data.path().join("work");
    git.ok(
        &[
            "clone",
            "-q",
            &git.ssh_url("bea", "work"),
            work.to_str().unwrap(),
        ],
        None,
    );
    let mut pushed_before = Vec::new();
    for i in 0..3 {
        working_copy(&git, &work, &[(&format!("f{i}"), &format!("{i}\n"))]);
        git.ok(&["push", "-q", "origin", "HEAD:main"], Some(&work));
        pushed_before.push(
            git.ok(&["rev-parse", "HEAD"], Some(&work))
                .trim()
                .to_string(),
        );
    }
    let stop = Arc::new(AtomicBool::new(false));
    let pusher = keep_pushing(git, work, stop.clone());
    std::thread::sleep(std::time::Duration::from_millis(300));
    let out = twostep(
        &["backup", file.to_str().unwrap()],
        &server.data_dir(),
        database_url,
    );
    stop.store(true, Ordering::SeqCst);
    let during = pusher.join().unwrap();
    assert!(out.status.success(), "{}", said(&out));
    assert!(
        said(&out).contains("backed up 2 repositories"),
        "{}",
        said(&out)
    );
    assert!(!during.is_empty(), "pushes ran during the backup");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the archive holds the secret key");
    // A second backup never writes over the first.
    let again = twostep(
        &["backup", file.to_str().unwrap()],
        &server.data_dir(),
        database_url,
    );
    assert!(!again.status.success());
    assert!(said(&again).contains("exists already"), "{}", said(&again));
    // The SSH key outlives the first server's folder.
    let key = file.with_file_name("bea_id");
    std::fs::copy(&bea.key, &key).unwrap();
    Before {
        phone,
        key,
        pushed_before,
        host_key: host_key(server.ssh_port),
    }
}

/// The restored server: same host key, same authenticator, same history.
fn check_restored(restored: &Server, mut before: Before) {
    assert_eq!(host_key(restored.ssh_port), before.host_key);
    let api = ApiClient::new(restored);
    let r = api.ok(
        "POST",
        "/session",
        Some(json!({"login": "bea", "password": PASSWORD})),
    );
    assert_eq!(r["status"], "second_step_required");
    api.ok(
        "POST",
        "/session/second-step",
        Some(json!({"code": before.phone.next_code()})),
    );
    let repos = api.ok("GET", "/repositories", None);
    assert_eq!(repos.as_array().unwrap().len(), 2, "{repos}");
    let git = Git::new(restored, "bea-restored", &before.key);
    let copy = restored.data.path().join("copy");
    git.ok(
        &[
            "clone",
            "-q",
            &git.ssh_url("bea", "work"),
            copy.to_str().unwrap(),
        ],
        None,
    );
    for commit in before.pushed_before.drain(..) {
        git.ok(
            &["merge-base", "--is-ancestor", &commit, "HEAD"],
            Some(&copy),
        );
    }
    git.ok(&["fsck", "--strict"], Some(&copy));
    let empty = restored.data.path().join("empty");
    git.ok(
        &[
            "clone",
            "-q",
            &git.ssh_url("bea", "empty"),
            empty.to_str().unwrap(),
        ],
        None,
    );
}

#[test]
fn backup_while_pushing_then_restore_into_a_new_folder() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("twostep.backup");
    let before = back_up(&server, &file, None);

    // A damaged archive is refused before anything is written.
    let mut bytes = std::fs::read(&file).unwrap();
    let at = bytes
        .windows(11)
        .position(|w| w == b"secret.key\0")
        .expect("the archive holds secret.key");
    bytes[at + 512] ^= 0x01;
    let damaged = dir.path().join("damaged.backup");
    std::fs::write(&damaged, &bytes).unwrap();
    let target = dir.path().join("never");
    let out = Command::new(env!("CARGO_BIN_EXE_twostep"))
        .args([
            "restore",
            damaged.to_str().unwrap(),
            "--data-dir",
            target.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        said(&out).contains("secret.key in the backup does not match its checksum"),
        "{}",
        said(&out)
    );
    assert!(!target.exists(), "nothing written for a damaged archive");

    let restored_dir = dir.path().join("restored");
    let restore = |into: &Path| {
        Command::new(env!("CARGO_BIN_EXE_twostep"))
            .args([
                "restore",
                file.to_str().unwrap(),
                "--data-dir",
                into.to_str().unwrap(),
            ])
            .output()
            .unwrap()
    };
    let out = restore(&restored_dir);
    assert!(out.status.success(), "{}", said(&out));
    assert!(
        said(&out).contains("restored 2 repositories"),
        "{}",
        said(&out)
    );
    // Never over an existing folder.
    let out = restore(&restored_dir);
    assert!(!out.status.success());
    assert!(said(&out).contains("is not empty"), "{}", said(&out));
    let doctor = twostep(&["doctor"], &restored_dir, None);
    assert!(doctor.status.success(), "{}", said(&doctor));

    drop(server);
    let restored = Server::start_with(ServerOptions {
        data_dir: Some(restored_dir),
        ..Default::default()
    });
    check_restored(&restored, before);
}

#[test]
fn backup_on_postgresql_calls_pg_dump_and_the_dump_restores() {
    let Some(db) = Database::create() else {
        return;
    };
    let server = Server::start_with(ServerOptions {
        database_url: Some(db.url()),
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pg.backup");
    let before = back_up(&server, &file, Some(&db.url()));
    drop(server);

    let restored_dir = dir.path().join("restored");
    let out = Command::new(env!("CARGO_BIN_EXE_twostep"))
        .args([
            "restore",
            file.to_str().unwrap(),
            "--data-dir",
            restored_dir.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", said(&out));
    assert!(said(&out).contains("pg_restore"), "{}", said(&out));
    let dump = restored_dir.join("database.pgdump");
    assert!(dump.is_file());

    let Some(fresh) = Database::create_named("restored") else {
        return;
    };
    let loaded = Command::new("pg_restore")
        .args(["--no-owner", "--dbname", &fresh.url()])
        .arg(&dump)
        .output()
        .unwrap();
    assert!(loaded.status.success(), "{}", said(&loaded));
    let restored = Server::start_with(ServerOptions {
        data_dir: Some(restored_dir),
        database_url: Some(fresh.url()),
        ..Default::default()
    });
    check_restored(&restored, before);
}

#[test]
fn a_folder_made_by_migrate_backs_up_and_a_truncated_archive_is_called_so() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = twostep(&["migrate"], &data, None);
    assert!(out.status.success(), "{}", said(&out));
    let file = dir.path().join("fresh.backup");
    let out = twostep(&["backup", file.to_str().unwrap()], &data, None);
    assert!(
        out.status.success(),
        "backup right after migrate: {}",
        said(&out)
    );

    let bytes = std::fs::read(&file).unwrap();
    let cut = dir.path().join("cut.backup");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let target = dir.path().join("not").join("there").join("data");
    let out = Command::new(env!("CARGO_BIN_EXE_twostep"))
        .args([
            "restore",
            cut.to_str().unwrap(),
            "--data-dir",
            target.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = said(&out);
    assert!(text.contains("is truncated or damaged"), "{text}");
    assert!(
        !text.contains(".twostep-restore-"),
        "names its staging folder: {text}"
    );
    assert!(
        !dir.path().join("not").exists(),
        "a refused restore made folders"
    );
}
