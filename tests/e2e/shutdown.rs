//! SIGTERM lets a running git operation finish before the server exits.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common;
use common::accounts::account;
use common::git::SSH_OPTIONS;
use common::Server;

fn exited(pid: u32) -> bool {
    // Not yet reaped by the harness: a finished process is a zombie.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(true)
}

#[test]
fn sigterm_waits_for_a_running_git_operation() {
    let server = Server::start();
    let wes = account(&server, "wes");
    wes.api
        .ok("POST", "/repositories", Some(json!({"name": "big"})));
    // A push that has begun: receive-pack waits for the client's pack.
    let mut push = Command::new("ssh")
        .arg("-i")
        .arg(&wes.key)
        .args(SSH_OPTIONS)
        .args([
            "-p",
            &server.ssh_port.to_string(),
            "git@127.0.0.1",
            "git-receive-pack 'wes/big.git'",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Its ref advertisement arrives: git runs on the server.
    let mut first = [0u8; 4];
    std::io::Read::read_exact(push.stdout.as_mut().unwrap(), &mut first).unwrap();
    let pid = server.pid();
    assert!(Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(20);
    while !server.log_text().contains("letting git operations finish") {
        assert!(Instant::now() < deadline, "{}", server.log_text());
        assert!(
            !exited(pid),
            "the server left while a push was running:\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!exited(pid));
    // The client ends its push (an empty one: flush packet), then the server goes.
    let mut stdin = push.stdin.take().unwrap();
    stdin.write_all(b"0000").unwrap();
    drop(stdin);
    let _ = push.wait();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !exited(pid) {
        assert!(
            Instant::now() < deadline,
            "the server did not stop:\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        server.log_text().contains("twostep stopped"),
        "{}",
        server.log_text()
    );
}

#[test]
fn sigterm_lets_a_slow_clone_take_its_last_bytes() {
    let server = Server::start();
    let ann = account(&server, "ann");
    ann.api
        .ok("POST", "/repositories", Some(json!({"name": "big"})));
    let git = common::git::Git::new(&server, "ann", &ann.key);
    let src = server.data.path().join("src");
    common::git::working_copy(&git, &src, &[("README.md", "big\n")]);
    let mut blob = vec![0u8; 16 << 20];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut blob);
    std::fs::write(src.join("blob.bin"), &blob).unwrap();
    git.ok(&["add", "."], Some(&src));
    git.ok(&["commit", "-q", "-m", "blob"], Some(&src));
    git.ok(
        &["push", "-q", &git.ssh_url("ann", "big"), "main"],
        Some(&src),
    );

    let clone = server.data.path().join("clone");
    let cloning = Command::new("git")
        .args([
            "-c",
            "ssh.variant=ssh",
            "clone",
            "-q",
            &git.ssh_url("ann", "big"),
        ])
        .arg(&clone)
        .env("HOME", &git.home)
        .env("GIT_SSH_COMMAND", git.slow_ssh_command())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The pack is coming in: then the server is told to stop.
    let deadline = Instant::now() + Duration::from_secs(30);
    let pack = clone.join(".git/objects/pack");
    while !std::fs::read_dir(&pack)
        .map(|d| {
            d.flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("tmp_pack"))
        })
        .unwrap_or(false)
    {
        assert!(Instant::now() < deadline, "the clone never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    server.signal("-TERM");
    let out = cloning.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the clone was cut: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.log_text()
    );
    assert_eq!(std::fs::read(clone.join("blob.bin")).unwrap(), blob);
    let deadline = Instant::now() + Duration::from_secs(40);
    while !exited(server.pid()) {
        assert!(Instant::now() < deadline, "the server did not stop");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(server.log_text().contains("twostep stopped"));
}
