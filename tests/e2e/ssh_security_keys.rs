//! FIDO security keys as SSH keys (`sk-ssh-ed25519@openssh.com`): the
//! OpenSSH client with a software security key of the tests' own (a small
//! shared library implementing OpenSSH's security-key middleware API,
//! tests/e2e/sk_provider) that reports the flags and counter it is told to,
//! as malware holding the key handle file (no touch) or a cloned key (an
//! old counter) would. A touched key signs in and pushes; a signature
//! without the flag is refused, logged with its flags and counter, and
//! written to the owner's security log. Per-key options as authorized_keys
//! has them (`verify-required`, `no-touch-required`) are held as sshd holds
//! them, and a workspace can ask for FIDO keys (verify-required ones).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::json;

use crate::common;
use common::accounts::{account, PASSWORD};
use common::git::SSH_OPTIONS;
use common::Server;

/// A new FIDO key (`ssh-keygen -t ed25519-sk` with the software key);
/// its private file's path and public line.
fn sk_keygen(dir: &Path, lib: &Path, name: &str) -> (PathBuf, String) {
    let key = dir.join(name);
    let made = Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519-sk",
            "-N",
            "",
            "-C",
            &format!("{name}@e2e"),
            "-w",
        ])
        .arg(lib)
        .arg("-f")
        .arg(&key)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    (key, public.trim().to_string())
}

fn said(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Builds the software security key once per test run.
fn provider(dir: &Path) -> PathBuf {
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/e2e/sk_provider/sk-test-provider.c");
    let lib = dir.join("sk-test-provider.so");
    let out = Command::new("cc")
        .args(["-shared", "-fPIC", "-Wall", "-o"])
        .arg(&lib)
        .arg(&source)
        .arg("-lcrypto")
        .output()
        .expect("a C compiler");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    lib
}

/// `ssh` with the security key, its flags and counter as the key reports them.
fn ssh_sk(
    server: &Server,
    key: &Path,
    lib: &Path,
    flags: &str,
    counter: &str,
    args: &[&str],
) -> Output {
    Command::new("ssh")
        .arg("-i")
        .arg(key)
        .args(SSH_OPTIONS)
        .arg("-o")
        .arg(format!("SecurityKeyProvider={}", lib.display()))
        .args(["-o", "BatchMode=yes"])
        .args(["-p", &server.ssh_port.to_string(), "git@127.0.0.1"])
        .args(args)
        .env("SK_TEST_FLAGS", flags)
        .env("SK_TEST_COUNTER", counter)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn a_security_key_signature_without_a_touch_is_refused() {
    let server = Server::start();
    let sue = account(&server, "sue");
    let lib = provider(server.data.path());
    let (key, public) = sk_keygen(server.data.path(), &lib, "sue_sk");
    assert!(public.starts_with("sk-ssh-ed25519@openssh.com "));
    sue.api.ok(
        "POST",
        "/user/ssh-keys",
        Some(json!({"title": "fido", "key": public, "password": PASSWORD})),
    );

    // Touched (user presence): the greeting.
    let touched = ssh_sk(&server, &key, &lib, "01", "7", &[]);
    let said = String::from_utf8_lossy(&touched.stdout);
    assert!(
        said.contains("logged in as sue"),
        "{said}{}",
        String::from_utf8_lossy(&touched.stderr)
    );

    // Not touched: refused before anything runs, as OpenSSH's sshd does.
    let silent = ssh_sk(&server, &key, &lib, "00", "8", &["recovery_codes"]);
    assert!(!silent.status.success());
    assert!(
        String::from_utf8_lossy(&silent.stderr).contains("Permission denied"),
        "{}",
        String::from_utf8_lossy(&silent.stderr)
    );
    assert!(String::from_utf8_lossy(&silent.stdout).is_empty());
    // Verified but not touched is no better.
    let odd = ssh_sk(&server, &key, &lib, "04", "9", &[]);
    assert!(!odd.status.success());

    let log = server.log_text();
    assert!(
        log.contains("user presence (authenticator touch) requirement not met"),
        "{log}"
    );
    assert!(log.contains("flags=0 counter=8 touched=false"), "{log}");
    let events = sue.api.ok("GET", "/user/security-log", None);
    assert!(events.to_string().contains("was not touched"), "{events}");
}

#[test]
fn key_options_counters_and_a_workspace_that_asks_for_fido_keys() {
    let server = Server::start();
    let tom = account(&server, "tom");
    let lib = provider(server.data.path());
    let dir = server.data.path();
    let (plain, plain_pub) = sk_keygen(dir, &lib, "tom_sk");
    let (verified, verified_pub) = sk_keygen(dir, &lib, "tom_sk_pin");
    let (silent, silent_pub) = sk_keygen(dir, &lib, "tom_sk_silent");
    let add = |line: String| {
        tom.api.ok(
            "POST",
            "/user/ssh-keys",
            Some(json!({"key": line, "password": PASSWORD})),
        )
    };
    add(plain_pub.clone());
    let v = add(format!("verify-required {verified_pub}"));
    assert_eq!(v["options"], "verify-required", "{v}");
    add(format!("no-touch-required {silent_pub}"));
    // Options belong to FIDO keys, and only these two are known.
    let (_, ed) = common::ssh_keygen(dir, "tom_other");
    tom.api.err(
        "POST",
        "/user/ssh-keys",
        Some(json!({"key": format!("verify-required {ed}"), "password": PASSWORD})),
        422,
        "invalid_ssh_key",
    );
    let (_, sk4) = sk_keygen(dir, &lib, "tom_sk_4");
    let (_, body) = tom.api.call(
        "POST",
        "/user/ssh-keys",
        Some(json!({"key": format!("command=\"id\" {sk4}"), "password": PASSWORD})),
    );
    assert!(body.to_string().contains("is not supported here"), "{body}");

    // Each flag combination, as OpenSSH's sshd decides it.
    let ok = |key: &Path, flags: &str, counter: &str| {
        let o = ssh_sk(&server, key, &lib, flags, counter, &[]);
        o.status.success() && said(&o).contains("logged in as tom")
    };
    assert!(ok(&plain, "01", "10"), "touched");
    assert!(!ok(&plain, "04", "11"), "verified but not touched");
    assert!(!ok(&verified, "01", "1"), "verify-required, no PIN");
    assert!(ok(&verified, "05", "2"), "verify-required, touched and PIN");
    assert!(
        !ok(&verified, "04", "3"),
        "verify-required, PIN but no touch"
    );
    assert!(ok(&silent, "00", "1"), "no-touch-required, no touch");
    let log = server.log_text();
    assert!(
        log.contains("user verification requirement not met"),
        "{log}"
    );
    let events = tom.api.ok("GET", "/user/security-log", None).to_string();
    assert!(events.contains("ssh_key.not_verified"), "{events}");

    // A counter that goes back (a second copy of the key) still signs in,
    // but is logged and mailed.
    assert!(ok(&plain, "01", "4"));
    let events = tom.api.ok("GET", "/user/security-log", None).to_string();
    assert!(events.contains("counter 4 after 10"), "{events}");
    let mail = server
        .mail
        .wait_for("tom@example.net", "Your security key's counter went back");
    assert!(
        mail.raw.contains("another copy of this key"),
        "{}",
        mail.raw
    );
    assert!(ok(&plain, "01", "12"));

    // A workspace that accepts FIDO keys only, then verify-required ones.
    tom.api
        .ok("POST", "/workspaces", Some(json!({"name": "lab"})));
    tom.api.ok(
        "POST",
        "/workspaces/lab/repositories",
        Some(json!({"name": "tools"})),
    );
    let rules = tom.api.ok(
        "POST",
        "/workspaces/lab/ssh-rules",
        Some(json!({"keys": "fido", "password": PASSWORD})),
    );
    assert_eq!(rules["keys"], "fido", "{rules}");
    let git = common::git::Git::new(&server, "tom", &tom.key);
    let refused = git.fails(&["ls-remote", &git.ssh_url("lab", "tools")], None);
    assert!(
        refused.contains("The workspace lab accepts only FIDO security-key SSH keys"),
        "{refused}"
    );
    // Tom's own repositories are no workspace's: the plain key still works.
    tom.api
        .ok("POST", "/repositories", Some(json!({"name": "mine"})));
    git.ok(&["ls-remote", &git.ssh_url("tom", "mine")], None);
    let upload = |key: &Path, flags: &str, counter: &str| {
        ssh_sk(
            &server,
            key,
            &lib,
            flags,
            counter,
            &["git-upload-pack", "'/lab/tools.git'"],
        )
    };
    // Let in: git's advertisement (then it ends: nobody asks for a pack).
    let o = upload(&plain, "01", "20");
    assert!(said(&o).contains("capabilities"), "{}", said(&o));
    // A key that signs without a touch proves no presence: not a FIDO key here.
    let o = upload(&silent, "00", "2");
    assert!(
        said(&o).contains("no-touch-required does not count"),
        "{}",
        said(&o)
    );
    tom.api.ok(
        "POST",
        "/workspaces/lab/ssh-rules",
        Some(json!({"keys": "fido_verified", "password": PASSWORD})),
    );
    let o = upload(&plain, "01", "21");
    assert!(!o.status.success());
    assert!(
        said(&o).contains("check your PIN or fingerprint each time"),
        "{}",
        said(&o)
    );
    let o = upload(&verified, "05", "22");
    assert!(said(&o).contains("capabilities"), "{}", said(&o));
    // The admin was mailed each change; the workspace says its rule.
    server
        .mail
        .wait_for("tom@example.net", "A workspace's SSH rules changed");
    let w = tom.api.ok("GET", "/workspaces/lab", None);
    assert_eq!(w["ssh"]["keys"], "fido_verified", "{w}");

    // Behind OpenSSH, sshd gets the key's options with it.
    let fp = common::ssh_fingerprint(&verified);
    let o = Command::new(env!("CARGO_BIN_EXE_twostep"))
        .args(["keys", "--data-dir"])
        .arg(server.data_dir())
        .args(["--fingerprint", &fp])
        .output()
        .unwrap();
    let line = String::from_utf8_lossy(&o.stdout);
    assert!(
        line.contains(",restrict,pty,verify-required sk-ssh-ed25519@openssh.com "),
        "{line}"
    );
}
