//! Behind OpenSSH: the distribution's sshd, started on a free port, asks
//! `twostep keys` for the offered key and runs `twostep serv`; git, the
//! greeting and `recovery_codes` (piped and on a pty) work as on twostep's
//! own SSH server.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::json;

use crate::common;
use crate::common::codes_in;
use common::accounts::{account, enable_two_step, PASSWORD};
use common::git::{working_copy, Git, SSH_OPTIONS};
use common::tty::Terminal;
use common::{free_port, ssh_keygen, Server};

struct Sshd {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// sshd checks that its AuthorizedKeysCommand and every folder above it
/// belong to root and are writable by nobody else: a copy of the binary
/// in such a folder (a test's temporary folder sits under /tmp, which is not).
fn sshd_for(server: &Server, name: &str) -> Sshd {
    let dir = PathBuf::from(format!("/run/twostep-e2e-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = dir.join("twostep");
    std::fs::copy(env!("CARGO_BIN_EXE_twostep"), &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let host_key = dir.join("host_key");
    let kg = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", ""])
        .arg("-f")
        .arg(&host_key)
        .status()
        .unwrap();
    assert!(kg.success());
    let port = free_port();
    let me = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout).unwrap();
    let conf = dir.join("sshd_config");
    std::fs::write(
        &conf,
        format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nPidFile {}/sshd.pid\n\
             AuthorizedKeysFile none\n\
             AuthorizedKeysCommand {} keys --data-dir {} --fingerprint %f\n\
             AuthorizedKeysCommandUser {}\n\
             AcceptEnv GIT_PROTOCOL\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             UsePAM no\nStrictModes no\nLogLevel VERBOSE\n",
            host_key.display(),
            dir.display(),
            bin.display(),
            server.data_dir().display(),
            me.trim(),
        ),
    )
    .unwrap();
    std::fs::create_dir_all("/run/sshd").unwrap();
    let sshd = which_sshd();
    let child = Command::new(sshd)
        .args(["-D", "-e", "-f"])
        .arg(&conf)
        .stderr(std::fs::File::create(dir.join("sshd.log")).unwrap())
        .spawn()
        .expect("sshd starts (the test script installs openssh-server)");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Sshd { child, port, dir }
}

fn which_sshd() -> PathBuf {
    for p in ["/usr/sbin/sshd", "/usr/bin/sshd"] {
        if Path::new(p).exists() {
            return p.into();
        }
    }
    "sshd".into()
}

impl Sshd {
    fn url(&self, owner: &str, repo: &str) -> String {
        format!(
            "ssh://{}@127.0.0.1:{}/{owner}/{repo}.git",
            login(),
            self.port
        )
    }

    fn ssh(&self, key: &Path, args: &[&str], input: Option<&str>) -> Output {
        use std::io::Write;
        let mut child = Command::new("ssh")
            .arg("-i")
            .arg(key)
            .args(SSH_OPTIONS)
            .args([
                "-p",
                &self.port.to_string(),
                &format!("{}@127.0.0.1", login()),
            ])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        if let Some(i) = input {
            stdin.write_all(i.as_bytes()).unwrap();
        }
        drop(stdin);
        child.wait_with_output().unwrap()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("sshd.log")).unwrap_or_default()
    }
}

fn login() -> String {
    String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout)
        .unwrap()
        .trim()
        .to_string()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn git_greeting_and_recovery_codes_through_the_distributions_sshd() {
    let server = Server::start();
    let alice = account(&server, "alice");
    let git = Git::new(&server, "alice", &alice.key);
    alice
        .api
        .ok("POST", "/repositories", Some(json!({"name": "proj"})));
    let sshd = sshd_for(&server, "git");

    // `twostep keys` answers for a registered key only.
    let fp = common::ssh_fingerprint(&alice.key);
    let keys = |fp: &str| {
        let o = Command::new(env!("CARGO_BIN_EXE_twostep"))
            .args(["keys", "--data-dir"])
            .arg(server.data_dir())
            .args(["--fingerprint", fp])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let line = keys(&fp);
    let public = std::fs::read_to_string(alice.key.with_extension("pub")).unwrap();
    let key_body = public.split_whitespace().nth(1).unwrap();
    assert!(line.starts_with("command=\""), "{line}");
    assert!(
        line.contains("serv") && line.contains(",restrict,pty ssh-ed25519 "),
        "{line}"
    );
    assert!(line.contains(key_body), "{line}");
    let (stranger, _) = ssh_keygen(server.data.path(), "stranger_id");
    assert_eq!(keys(&common::ssh_fingerprint(&stranger)), "");

    // Push and clone through sshd.
    let src = server.data.path().join("src");
    working_copy(&git, &src, &[("README.md", "through OpenSSH\n")]);
    git.ok(
        &["push", "-q", &sshd.url("alice", "proj"), "main"],
        Some(&src),
    );
    let copy = server.data.path().join("copy");
    git.ok(
        &[
            "clone",
            "-q",
            &sshd.url("alice", "proj"),
            copy.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(
        std::fs::read_to_string(copy.join("README.md")).unwrap(),
        "through OpenSSH\n"
    );
    // The same repository over twostep's own server.
    git.ok(&["ls-remote", &git.ssh_url("alice", "proj")], None);
    // Other people's repositories stay closed.
    let bob = account(&server, "bob");
    bob.api
        .ok("POST", "/repositories", Some(json!({"name": "secret"})));
    let err = git.fails(
        &["clone", "-q", &sshd.url("bob", "secret"), "nope"],
        Some(server.data.path()),
    );
    assert!(
        err.contains("Repository bob/secret not found, or you (alice) do not have access to it."),
        "{err}"
    );

    // A key nobody registered gets no further than sshd.
    let out = sshd.ssh(&stranger, &[], None);
    assert!(!out.status.success());
    assert!(text(&out).contains("Permission denied"), "{}", text(&out));

    // No command: the greeting, no shell.
    let out = sshd.ssh(&alice.key, &[], None);
    assert!(
        text(&out).contains(
            "logged in as alice. You can use git to connect to twostep. Shell access is disabled."
        ),
        "{}\n{}",
        text(&out),
        sshd.log()
    );
    let out = sshd.ssh(&alice.key, &["rm", "-rf", "/"], None);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("twostep: unknown command \"rm -rf /\""),
        "{}",
        text(&out)
    );

    // recovery_codes, piped.
    enable_two_step(&server, &alice);
    let out = sshd.ssh(
        &alice.key,
        &["recovery_codes"],
        Some(&format!("{PASSWORD}\n")),
    );
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Password for alice:"),
        "{}",
        text(&out)
    );
    assert_eq!(codes_in(&stdout).len(), 6, "{stdout}");
    server.mail.wait_for(
        "alice@example.net",
        "New recovery codes were generated over SSH",
    );
    let out = sshd.ssh(&alice.key, &["recovery_codes"], Some("wrong-password\n"));
    assert!(!out.status.success());
    assert!(text(&out).contains("Wrong password."), "{}", text(&out));

    // On a pty (`ssh -t`): the password typed is not shown.
    let command = format!(
        "ssh -i {} {} -t -p {} {}@127.0.0.1 recovery_codes",
        alice.key.display(),
        SSH_OPTIONS.join(" "),
        sshd.port,
        login()
    );
    let term = Terminal::run(server.data.path(), "openssh", &command);
    term.wait_for("Password for alice:");
    term.type_line(PASSWORD);
    let pane = term.wait_for("EXIT=");
    assert!(pane.contains("EXIT=0"), "{pane}");
    assert!(!pane.contains(PASSWORD), "the password was echoed:\n{pane}");
    assert_eq!(codes_in(&pane).len(), 6, "{pane}");

    // What serv did is in its own log, not on the client's screen.
    let serv_log = std::fs::read_to_string(server.data_dir().join("serv.log")).unwrap();
    assert!(serv_log.contains("ssh key accepted by sshd"), "{serv_log}");
}
