//! Repository housekeeping: pushes over SSH and HTTPS are kept as packs (no
//! loose objects for clones to deflate again), and `git maintenance run
//! --auto` runs after each push, in the log.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::common;
use common::accounts::{account, PASSWORD};
use common::git::{working_copy, Git};
use common::Server;

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

fn wait_for_log(server: &Server, text: &str, times: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.log_text().matches(text).count() < times {
        assert!(
            Instant::now() < deadline,
            "no {text:?} in the log:\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
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
    wait_for_log(&server, "repository housekeeping done", 1);
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
    wait_for_log(&server, "repository housekeeping done", 2);
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
