//! Running the real git and ssh clients against the test server.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::Server;

pub struct Git {
    pub home: PathBuf,
    key: PathBuf,
    ssh_port: u16,
    /// The address ssh connects from (`-o BindAddress`).
    bind: Option<String>,
}

impl Git {
    /// A git user with its own HOME (config, credential store) and SSH key.
    pub fn new(server: &Server, name: &str, key: &Path) -> Git {
        Git::at(
            server.data.path().join(format!("home-{name}")),
            server.ssh_port,
            name,
            key,
        )
    }

    /// The same with a HOME of the caller's (one that outlives a server).
    pub fn at(home: PathBuf, ssh_port: u16, name: &str, key: &Path) -> Git {
        std::fs::create_dir_all(&home).unwrap();
        let g = Git {
            home,
            key: key.to_path_buf(),
            ssh_port,
            bind: None,
        };
        g.ok(&["config", "--global", "user.name", name], None);
        g.ok(
            &[
                "config",
                "--global",
                "user.email",
                &format!("{name}@example.net"),
            ],
            None,
        );
        g.ok(&["config", "--global", "init.defaultBranch", "main"], None);
        g
    }

    /// `ssh_command` through a relay that passes about 3 MB/s each way:
    /// a client on a slow line.
    pub fn slow_ssh_command(&self) -> String {
        let relay = self.home.join("slow_line.py");
        std::fs::write(&relay, SLOW_LINE).unwrap();
        format!("python3 {} {}", relay.display(), self.ssh_command())
    }

    /// The same user connecting from `address` (any 127.x.y.z on loopback).
    pub fn connecting_from(mut self, address: &str) -> Git {
        self.bind = Some(address.to_string());
        self
    }

    pub fn ssh_command(&self) -> String {
        let bind = match &self.bind {
            Some(a) => format!(" -o BindAddress={a}"),
            None => String::new(),
        };
        format!(
            "ssh -i {} -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes{bind}",
            self.key.display()
        )
    }

    pub fn ssh_url(&self, owner: &str, repo: &str) -> String {
        format!("ssh://git@127.0.0.1:{}/{owner}/{repo}.git", self.ssh_port)
    }

    pub fn run(&self, args: &[&str], dir: Option<&Path>) -> Output {
        let mut c = Command::new("git");
        c.args(args)
            .env("HOME", &self.home)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_SSH_COMMAND", self.ssh_command())
            .env("GIT_TERMINAL_PROMPT", "0")
            .env_remove("GIT_ASKPASS")
            // Some machines point git at the system's CA file this way; tests
            // over HTTPS name theirs in http.sslCAInfo, which it would override.
            .env_remove("GIT_SSL_CAINFO")
            .env_remove("SSH_ASKPASS");
        if let Some(d) = dir {
            c.current_dir(d);
        }
        c.output().expect("git runs")
    }

    pub fn ok(&self, args: &[&str], dir: Option<&Path>) -> String {
        let out = self.run(args, dir);
        assert!(
            out.status.success(),
            "git {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Fails, and returns what git printed on stderr.
    pub fn fails(&self, args: &[&str], dir: Option<&Path>) -> String {
        let out = self.run(args, dir);
        assert!(
            !out.status.success(),
            "git {args:?} should have failed:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// Stores `user:secret` for the server in git's own `credential.helper store`.
    pub fn store_credentials(&self, server: &Server, user: &str, secret: &str) {
        self.ok(&["config", "--global", "credential.helper", "store"], None);
        let (scheme, host) = server.base.split_once("://").unwrap();
        std::fs::write(
            self.home.join(".git-credentials"),
            format!("{scheme}://{user}:{secret}@{host}\n"),
        )
        .unwrap();
    }

    /// `ssh git@HOST ARGS…` with this user's key; stdin from `input`.
    pub fn ssh(&self, args: &[&str], input: Option<&str>) -> Output {
        use std::io::Write;
        let mut c = Command::new("ssh");
        c.args(["-i"]).arg(&self.key);
        c.args(SSH_OPTIONS);
        c.args(["-p", &self.ssh_port.to_string(), "git@127.0.0.1"])
            .args(args);
        c.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = c.spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        if let Some(i) = input {
            stdin.write_all(i.as_bytes()).unwrap();
        }
        drop(stdin);
        child.wait_with_output().unwrap()
    }
}

/// OpenSSH options for tests: this key only, no host-key prompts, quiet.
pub const SSH_OPTIONS: [&str; 10] = [
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "LogLevel=ERROR",
    "-o",
    "BatchMode=yes",
];

/// A working copy with one commit holding `files`.
pub fn working_copy(git: &Git, dir: &Path, files: &[(&str, &str)]) {
    std::fs::create_dir_all(dir).unwrap();
    git.ok(&["init", "-q"], Some(dir));
    for (name, body) in files {
        std::fs::write(dir.join(name), body).unwrap();
    }
    git.ok(&["add", "."], Some(dir));
    git.ok(&["commit", "-q", "-m", "first"], Some(dir));
}

const SLOW_LINE: &str = r#"
import os, subprocess, sys, threading, time
p = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
def up():
    while True:
        d = os.read(0, 32768)
        if not d:
            break
        p.stdin.write(d)
        p.stdin.flush()
        time.sleep(0.01)
    p.stdin.close()
threading.Thread(target=up, daemon=True).start()
while True:
    d = p.stdout.read1(32768)
    if not d:
        break
    os.write(1, d)
    time.sleep(0.01)
sys.exit(p.wait())
"#;
