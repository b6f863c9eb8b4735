//! Repository housekeeping: pushes over SSH and HTTPS are kept as packs (no
//! loose objects for clones to deflate again), and `git maintenance run
//! --auto` runs after each push, in the log.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::common;
use common::accounts::{account, PASSWORD};
use common::git::{working_copy, Git};
use common::{Server, ServerOptions};

fn loose_objects(repo: &std::path::Path) -> usize {
    std::fs::read_dir(repo.join("objects"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().len() == 2)
        .map(|e| std::fs::read_dir(e.path()).unwrap().count())
        .sum()
}

fn packs(repo: &std::path::Path) -> usize {
    std::fs::read_dir(repo.join("objects/pack"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "pack"))
        .count()
}

#[test]
fn pushed_objects_stay_packed_and_maintenance_runs_after_each_push() {
    let server = Server::start();
    let vic = account(&server, "vic");
    vic.api
        .ok("POST", "/repositories", Some(json!({"name": "notes"})));
    let repo = server.data_dir().join("repositories/vic/notes.git");
    let git = Git::new(&server, "vic", &vic.key);
    let wc = server.data.path().join("vic-wc");
    working_copy(&git, &wc, &[("a.txt", "one\n"), ("b.txt", "two\n")]);
    git.ok(
        &["push", "-q", &git.ssh_url("vic", "notes"), "HEAD:main"],
        Some(&wc),
    );
    server.wait_for_log("repository housekeeping done", 1);
    assert_eq!(
        loose_objects(&repo),
        0,
        "a 4-object push over SSH stays a pack"
    );
    assert!(packs(&repo) >= 1);

    std::fs::write(wc.join("c.txt"), "three\n").unwrap();
    git.ok(&["add", "."], Some(&wc));
    git.ok(&["commit", "-q", "-m", "more"], Some(&wc));
    git.store_credentials(&server, "vic", PASSWORD);
    git.ok(
        &["push", "-q", &server.url("/vic/notes.git"), "HEAD:main"],
        Some(&wc),
    );
    server.wait_for_log("repository housekeeping done", 2);
    assert_eq!(loose_objects(&repo), 0, "and over HTTPS");
    let fsck = std::process::Command::new("git")
        .args(["--git-dir", repo.to_str().unwrap(), "fsck", "--no-progress"])
        .output()
        .unwrap();
    assert!(
        fsck.status.success(),
        "{}",
        String::from_utf8_lossy(&fsck.stderr)
    );
}

/// The process and everything it started, as a unit's SIGKILL would take them.
fn kill_tree(pid: u32) {
    let mut tree = vec![pid];
    let mut i = 0;
    while i < tree.len() {
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            let ppid = stat
                .rsplit(')')
                .next()
                .and_then(|r| r.split_whitespace().nth(1));
            if ppid == Some(&tree[i].to_string()) {
                if let Ok(child) = entry.file_name().to_string_lossy().parse() {
                    tree.push(child);
                }
            }
        }
        i += 1;
    }
    for p in tree {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &p.to_string()])
            .status();
    }
}

fn quarantines(repo: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(repo.join("objects"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("tmp_objdir-incoming-"))
        .collect()
}

#[test]
fn a_push_killed_with_the_server_leaves_no_quarantine_behind() {
    let data = tempfile::tempdir().unwrap();
    let options = || ServerOptions {
        data_dir: Some(data.path().join("data")),
        ..Default::default()
    };
    let server = Server::start_with(options());
    let kit = account(&server, "kit");
    kit.api
        .ok("POST", "/repositories", Some(json!({"name": "big"})));
    let repo = server.data_dir().join("repositories/kit/big.git");
    let git = Git::new(&server, "kit", &kit.key);
    let wc = server.data.path().join("kit-wc");
    working_copy(&git, &wc, &[("a.txt", "one\n")]);
    let mut blob = vec![0u8; 16 << 20];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut blob);
    std::fs::write(wc.join("blob.bin"), &blob).unwrap();
    git.ok(&["add", "."], Some(&wc));
    git.ok(&["commit", "-q", "-m", "blob"], Some(&wc));
    let push = std::process::Command::new("git")
        .args([
            "-c",
            "ssh.variant=ssh",
            "push",
            "-q",
            &git.ssh_url("kit", "big"),
            "main",
        ])
        .current_dir(&wc)
        .env("HOME", &git.home)
        .env("GIT_SSH_COMMAND", git.slow_ssh_command())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while quarantines(&repo).is_empty() {
        assert!(Instant::now() < deadline, "the push never began");
        std::thread::sleep(Duration::from_millis(20));
    }
    kill_tree(server.pid());
    let _ = push.wait_with_output();
    assert!(!quarantines(&repo).is_empty(), "git cleaned up itself");
    drop(server);

    let again = Server::start_with(options());
    again.wait_for_log("left by an interrupted change", 1);
    assert_eq!(quarantines(&repo), Vec::<String>::new());
    assert!(again
        .log_text()
        .contains("kit/big.git/objects/tmp_objdir-incoming-"));
}
