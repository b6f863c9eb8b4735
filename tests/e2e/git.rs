//! Git over SSH and HTTPS through the real binary with the unmodified git and
//! OpenSSH clients; app passwords; access control; the SSH greeting.

use crate::common;

use serde_json::json;

use common::accounts::{account, enable_two_step, PASSWORD};
use common::git::{working_copy, Git};
use common::Server;

/// Alice with a private repository "proj" that got its first commit over SSH.
fn alice_with_a_pushed_repository(server: &Server) -> (common::accounts::Account, Git) {
    let alice = account(server, "alice");
    let git = Git::new(server, "alice", &alice.key);
    alice.api.ok(
        "POST",
        "/repositories",
        Some(json!({"name": "proj", "description": "demo"})),
    );
    // Push over SSH.
    let src = server.data.path().join("src");
    working_copy(
        &git,
        &src,
        &[("README.md", "hello\n"), ("main.rs", "fn main() {}\n")],
    );
    git.ok(
        &["push", "-q", &git.ssh_url("alice", "proj"), "main"],
        Some(&src),
    );

    (alice, git)
}

#[test]
fn repositories_are_created_pushed_over_ssh_and_cloned_over_https() {
    let server = Server::start();
    let alice = account(&server, "alice");
    let git = Git::new(&server, "alice", &alice.key);
    let repo = alice.api.ok(
        "POST",
        "/repositories",
        Some(json!({"name": "proj", "description": "demo"})),
    );
    assert_eq!(repo["private"], true);
    assert_eq!(repo["clone_ssh"], git.ssh_url("alice", "proj"));
    alice.api.err(
        "POST",
        "/repositories",
        Some(json!({"name": "proj"})),
        422,
        "repository_exists",
    );
    for bad in ["../etc", "a/b", ".hidden", "x y"] {
        alice.api.err(
            "POST",
            "/repositories",
            Some(json!({"name": bad})),
            422,
            "invalid_repository_name",
        );
    }

    // Push over SSH.
    let src = server.data.path().join("src");
    working_copy(
        &git,
        &src,
        &[("README.md", "hello\n"), ("main.rs", "fn main() {}\n")],
    );
    git.ok(
        &["push", "-q", &git.ssh_url("alice", "proj"), "main"],
        Some(&src),
    );

    // Protocol v2 over SSH: GIT_PROTOCOL reaches git-upload-pack.
    let out = git.run(
        &[
            "-c",
            "protocol.version=2",
            "ls-remote",
            &git.ssh_url("alice", "proj"),
        ],
        None,
    );
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("refs/heads/main"));
    let mut trace = std::process::Command::new("git");
    trace
        .args([
            "-c",
            "protocol.version=2",
            "ls-remote",
            &git.ssh_url("alice", "proj"),
        ])
        .env("HOME", &git.home)
        .env("GIT_SSH_COMMAND", git.ssh_command())
        .env("GIT_TRACE_PACKET", "1");
    let traced = trace.output().unwrap();
    assert!(
        String::from_utf8_lossy(&traced.stderr).contains("version 2"),
        "protocol v2 not spoken"
    );

    // Clone over HTTPS with the account password while two-step is off, through git's credential store.
    let https = server.url("/alice/proj.git");
    git.store_credentials(&server, "alice", PASSWORD);
    let c1 = server.data.path().join("c1");
    git.ok(&["clone", "-q", &https, c1.to_str().unwrap()], None);
    assert_eq!(
        std::fs::read_to_string(c1.join("README.md")).unwrap(),
        "hello\n"
    );

    // Missing repositories answer at once with a clear message, never a hang.
    let err = git.fails(&["ls-remote", &git.ssh_url("alice", "nope")], None);
    assert!(err.contains("alice/nope not found"), "{err}");

    // Deleting needs the name typed again.
    alice.api.err(
        "DELETE",
        "/repositories/alice/proj?confirm=wrong",
        None,
        422,
        "confirmation_mismatch",
    );
    alice
        .api
        .ok("DELETE", "/repositories/alice/proj?confirm=proj", None);
    assert!(!server
        .data_dir()
        .join("repositories/alice/proj.git")
        .exists());
    let log = alice.api.ok("GET", "/user/security-log", None).to_string();
    for e in ["repository.created", "repository.deleted"] {
        assert!(log.contains(e), "{e} not logged");
    }
}

#[test]
fn app_passwords_carry_git_over_https_and_the_api_but_never_security_settings() {
    let server = Server::start();
    let (alice, git) = alice_with_a_pushed_repository(&server);
    let https = server.url("/alice/proj.git");
    git.store_credentials(&server, "alice", PASSWORD);
    // Two-step on: the account password is refused with a pointer to app passwords.
    let (_, codes) = enable_two_step(&server, &alice);
    let err = git.fails(
        &[
            "clone",
            "-q",
            &https,
            server.data.path().join("c2").to_str().unwrap(),
        ],
        None,
    );
    assert!(err.contains("app password"), "{err}");

    // An app password with write access: clone and push over HTTPS.
    let created = alice.api.ok(
        "POST",
        "/user/app-passwords",
        // Turning two-step on closed the window the password opened: a
        // second factor now (a recovery code here).
        Some(json!({"label": "laptop", "scopes": ["repository:write", "account:read"], "code": codes[0]})),
    );
    let token = created["password"].as_str().unwrap().to_string();
    assert!(token.starts_with("tsap_"));
    git.store_credentials(&server, "alice", &token);
    let c3 = server.data.path().join("c3");
    git.ok(&["clone", "-q", &https, c3.to_str().unwrap()], None);
    std::fs::write(c3.join("second.txt"), "over https\n").unwrap();
    git.ok(&["add", "."], Some(&c3));
    git.ok(&["commit", "-q", "-m", "second"], Some(&c3));
    git.ok(&["push", "-q", "origin", "main"], Some(&c3));
    // …and the reverse: clone over SSH sees the HTTPS push.
    let c4 = server.data.path().join("c4");
    git.ok(
        &[
            "clone",
            "-q",
            &git.ssh_url("alice", "proj"),
            c4.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(
        std::fs::read_to_string(c4.join("second.txt")).unwrap(),
        "over https\n"
    );
    let listed = alice.api.ok("GET", "/user/app-passwords", None);
    assert!(
        listed[0]["last_used_at"].is_i64(),
        "last use recorded: {listed}"
    );
    assert!(
        !listed.to_string().contains(&token),
        "the secret is never listed"
    );

    // The API takes the same Basic credentials, but never for security settings.
    let basic = reqwest::blocking::Client::new();
    let me = basic
        .get(server.url("/api/v1/user"))
        .basic_auth("alice", Some(&token))
        .send()
        .unwrap();
    assert_eq!(me.status().as_u16(), 200);
    for (path, body) in [
        ("/api/v1/user/ssh-keys", json!({"key": "ssh-ed25519 AAAA"})),
        ("/api/v1/user/two-step/disable", json!({"code": "123456"})),
        (
            "/api/v1/user/app-passwords",
            json!({"label": "x", "scopes": ["account:read"]}),
        ),
    ] {
        let r = basic
            .post(server.url(path))
            .basic_auth("alice", Some(&token))
            .json(&body)
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 403, "{path}");
        assert_eq!(
            r.json::<serde_json::Value>().unwrap()["error"]["code"],
            "app_password_not_allowed"
        );
    }
    let r = basic
        .get(server.url("/api/v1/user"))
        .basic_auth("alice", Some(PASSWORD))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(
        r.json::<serde_json::Value>().unwrap()["error"]["code"],
        "app_password_required"
    );

    // A read-only app password cannot push.
    let ro = alice.api.ok(
        "POST",
        "/user/app-passwords",
        Some(json!({"label": "ci", "scopes": ["repository:read"]})),
    );
    git.store_credentials(&server, "alice", ro["password"].as_str().unwrap());
    std::fs::write(c3.join("third.txt"), "x\n").unwrap();
    git.ok(&["add", "."], Some(&c3));
    git.ok(&["commit", "-q", "-m", "third"], Some(&c3));
    let err = git.fails(&["push", "-q", "origin", "main"], Some(&c3));
    assert!(err.contains("repository:write"), "{err}");

    // A revoked app password stops working at once.
    let id = created["app_password"]["id"].as_str().unwrap();
    alice
        .api
        .ok("DELETE", &format!("/user/app-passwords/{id}"), None);
    git.store_credentials(&server, "alice", &token);
    let err = git.fails(&["ls-remote", &https], None);
    assert!(
        err.contains("Invalid username or app password") || err.contains("Authentication failed"),
        "{err}"
    );

    let log = alice.api.ok("GET", "/user/security-log", None).to_string();
    for e in [
        "app_password.created",
        "app_password.revoked",
        "app_password.refused",
    ] {
        assert!(log.contains(e), "{e} not logged");
    }
}

#[test]
fn strangers_see_nothing_and_collaborators_get_what_they_were_given() {
    let server = Server::start();
    let (alice, _git) = alice_with_a_pushed_repository(&server);
    let https = server.url("/alice/proj.git");
    // Strangers see nothing of a private repository, over SSH or HTTPS.
    let bob = account(&server, "bob");
    let bgit = Git::new(&server, "bob", &bob.key);
    let err = bgit.fails(
        &[
            "clone",
            "-q",
            &bgit.ssh_url("alice", "proj"),
            server.data.path().join("b1").to_str().unwrap(),
        ],
        None,
    );
    assert!(
        err.contains("not found, or you (bob) do not have access"),
        "{err}"
    );
    bgit.store_credentials(&server, "bob", PASSWORD);
    let err = bgit.fails(&["ls-remote", &https], None);
    assert!(
        err.contains("not found, or you do not have access"),
        "{err}"
    );
    bob.api
        .err("GET", "/repositories/alice/proj", None, 404, "not_found");
    // Collaborators get read or write, nothing else.
    alice.api.err(
        "PUT",
        "/repositories/alice/proj/collaborators/bob",
        Some(json!({"access": "admin"})),
        422,
        "invalid_access",
    );
    // A read collaborator can clone but not push.
    alice.api.ok(
        "PUT",
        "/repositories/alice/proj/collaborators/bob",
        Some(json!({"access": "read"})),
    );
    let b2 = server.data.path().join("b2");
    bgit.ok(
        &[
            "clone",
            "-q",
            &bgit.ssh_url("alice", "proj"),
            b2.to_str().unwrap(),
        ],
        None,
    );
    std::fs::write(b2.join("bob.txt"), "hi\n").unwrap();
    bgit.ok(&["add", "."], Some(&b2));
    bgit.ok(&["commit", "-q", "-m", "bob"], Some(&b2));
    let err = bgit.fails(&["push", "-q", "origin", "main"], Some(&b2));
    assert!(err.contains("not write"), "{err}");
    alice.api.ok(
        "PUT",
        "/repositories/alice/proj/collaborators/bob",
        Some(json!({"access": "write"})),
    );
    bgit.ok(&["push", "-q", "origin", "main"], Some(&b2));

    bob.api.err(
        "DELETE",
        "/repositories/alice/proj?confirm=proj",
        None,
        403,
        "forbidden",
    );
}

#[test]
fn ssh_without_a_command_greets_and_unknown_commands_fail() {
    let server = Server::start();
    let carol = account(&server, "carol");
    let git = Git::new(&server, "carol", &carol.key);
    let out = git.ssh(&["-T"], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "logged in as carol. You can use git to connect to twostep. Shell access is disabled."
        ),
        "{text}"
    );
    let out = git.ssh(&["ls", "-la"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown command \"ls -la\""));
    // An unregistered key is refused.
    let (other, _) = common::ssh_keygen(server.data.path(), "stranger");
    let stranger = Git::new(&server, "stranger", &other);
    let out = stranger.ssh(&["-T"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Permission denied (publickey)"));
    // The host key fingerprint shown by twostep is the one ssh sees.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_twostep"))
        .args(["ssh-host-key", "--data-dir"])
        .arg(server.data_dir())
        .output()
        .unwrap();
    let fp = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap()
        .to_string();
    let scan = std::process::Command::new("ssh-keyscan")
        .args([
            "-p",
            &server.ssh_port.to_string(),
            "-t",
            "ed25519",
            "127.0.0.1",
        ])
        .output()
        .unwrap();
    let keyfile = server.data.path().join("scanned.pub");
    std::fs::write(&keyfile, &scan.stdout).unwrap();
    let seen = std::process::Command::new("ssh-keygen")
        .arg("-lf")
        .arg(&keyfile)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&seen.stdout).contains(&fp),
        "{fp} vs {}",
        String::from_utf8_lossy(&seen.stdout)
    );
}

#[test]
fn large_pushes_and_clones_over_ssh_keep_every_byte() {
    let server = Server::start();
    let frank = account(&server, "frank");
    let git = Git::new(&server, "frank", &frank.key);
    frank.api.ok(
        "POST",
        "/repositories",
        Some(json!({"name": "big", "private": false})),
    );
    let src = server.data.path().join("big-src");
    std::fs::create_dir_all(&src).unwrap();
    // 24 MB that does not compress, plus some history.
    let mut blob = vec![0u8; 24 * 1024 * 1024];
    let mut x: u64 = 0x9E3779B97F4A7C15;
    for chunk in blob.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    working_copy(&git, &src, &[("notes.txt", "v1\n")]);
    std::fs::write(src.join("blob.bin"), &blob).unwrap();
    git.ok(&["add", "."], Some(&src));
    git.ok(&["commit", "-q", "-m", "blob"], Some(&src));
    git.ok(
        &["push", "-q", &git.ssh_url("frank", "big"), "main"],
        Some(&src),
    );
    let back = server.data.path().join("big-back");
    git.ok(
        &[
            "clone",
            "-q",
            &git.ssh_url("frank", "big"),
            back.to_str().unwrap(),
        ],
        None,
    );
    assert!(
        std::fs::read(back.join("blob.bin")).unwrap() == blob,
        "the blob came back changed"
    );
    let head = |d: &std::path::Path| git.ok(&["rev-parse", "HEAD"], Some(d));
    assert_eq!(head(&src), head(&back));
    // A public repository is readable by anyone signed in, not writable.
    let gina = account(&server, "gina");
    let ggit = Git::new(&server, "gina", &gina.key);
    let out = ggit.run(&["ls-remote", &ggit.ssh_url("frank", "big")], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = ggit.fails(&["push", &ggit.ssh_url("frank", "big"), "main"], Some(&src));
    assert!(err.contains("not write"), "{err}");
}

#[test]
fn wrong_passwords_over_http_count_toward_the_lockout() {
    let server = Server::start();
    let ivan = account(&server, "ivan");
    ivan.api
        .ok("POST", "/repositories", Some(json!({"name": "r"})));
    let client = reqwest::blocking::Client::new();
    let url = server.url("/ivan/r.git/info/refs?service=git-upload-pack");
    let wrong = || {
        client
            .get(&url)
            .basic_auth("ivan", Some("wrong-password"))
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    for _ in 0..9 {
        assert_eq!(wrong(), 401);
    }
    assert_eq!(
        wrong(),
        429,
        "the tenth wrong password pauses unknown clients"
    );
    // Paused now: even the right password is refused, with the reason…
    let r = client
        .get(&url)
        .basic_auth("ivan", Some(PASSWORD))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    assert!(r.text().unwrap().contains("paused until"));
    // …but app passwords keep working (the owner's CI does not break).
    let created = ivan.api.ok(
        "POST",
        "/user/app-passwords",
        Some(json!({"label": "ci", "scopes": ["repository:read"]})),
    );
    let r = client
        .get(&url)
        .basic_auth("ivan", Some(created["password"].as_str().unwrap()))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
}

#[test]
fn repositories_on_the_web_pages() {
    let server = Server::start();
    account(&server, "jo");
    account(&server, "kim");
    let b = server.browser();
    b.submit(
        "/signin",
        "/signin",
        &[("login", "jo"), ("password", PASSWORD)],
    );
    b.submit("/repositories", "/repositories", &[("name", "../bad")])
        .assert_contains("Repository names are 1 to 100 characters");
    let page = b.submit(
        "/repositories",
        "/repositories",
        &[
            ("name", "webrepo"),
            ("description", "made on the web"),
            ("private", "yes"),
        ],
    );
    page.assert_path("/repositories/jo/webrepo")
        .assert_contains(&format!(
            "git clone ssh://git@127.0.0.1:{}/jo/webrepo.git",
            server.ssh_port
        ))
        .assert_contains(&format!("git clone {}/jo/webrepo.git", server.base))
        .assert_contains("SHA256:");
    b.submit(
        "/repositories/jo/webrepo",
        "/repositories/jo/webrepo/collaborators",
        &[("username", "kim"), ("access", "write")],
    )
    .assert_contains("kim: write");
    b.submit(
        "/repositories/jo/webrepo",
        "/repositories/jo/webrepo/collaborators",
        &[("username", "nobody"), ("access", "read")],
    )
    .assert_contains("There is no user called");
    b.get("/repositories")
        .assert_contains("jo/webrepo")
        .assert_contains("private");
    b.submit(
        "/repositories/jo/webrepo",
        "/repositories/jo/webrepo/delete",
        &[("confirm", "nope")],
    )
    .assert_contains("Type webrepo to confirm");
    b.submit(
        "/repositories/jo/webrepo",
        "/repositories/jo/webrepo/delete",
        &[("confirm", "webrepo")],
    )
    .assert_path("/repositories");
    assert_eq!(b.get("/repositories/jo/webrepo").status, 404);
    // App passwords on the web: shown once, listed without the secret, revoked.
    let created = b.submit(
        "/account/app-passwords",
        "/account/app-passwords",
        &[
            ("label", "laptop"),
            ("scopes", "repository:read"),
            ("scopes", "account:read"),
            ("password", PASSWORD),
        ],
    );
    let secret = common::texts(&created.body, "code#new-app-password").remove(0);
    assert!(secret.starts_with("tsap_"));
    let list = b.get("/account/app-passwords");
    list.assert_contains("laptop")
        .assert_contains("repository:read, account:read");
    assert!(!list.body.contains(&secret));
    let r = reqwest::blocking::Client::new()
        .get(server.url("/api/v1/user"))
        .basic_auth("jo", Some(&secret))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let action = list
        .body
        .split("action=\"/account/app-passwords/")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    b.post_form(
        &format!("/account/app-passwords/{action}"),
        &list.csrf(),
        &[],
    )
    .assert_contains("App password revoked");
    let r = reqwest::blocking::Client::new()
        .get(server.url("/api/v1/user"))
        .basic_auth("jo", Some(&secret))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    b.submit(
        "/account/app-passwords",
        "/account/app-passwords",
        &[("label", "none")],
    )
    .assert_contains("Choose at least one permission");
}
