//! FIDO security keys as SSH keys (`sk-ssh-ed25519@openssh.com`): the
//! OpenSSH client with a software security key of the tests' own (a small
//! shared library implementing OpenSSH's security-key middleware API,
//! tests/e2e/sk_provider) that can leave the user-presence flag out, as
//! malware holding the key handle file could. A touched key signs in and
//! pushes; a signature without the flag is refused, logged with its flags
//! and counter, and written to the owner's security log.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::json;

use crate::common;
use common::accounts::{account, PASSWORD};
use common::git::SSH_OPTIONS;
use common::Server;

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
    let key = server.data.path().join("sue_sk");
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519-sk", "-N", "", "-C", "sue@e2e", "-w"])
        .arg(&lib)
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
    assert!(public.starts_with("sk-ssh-ed25519@openssh.com "));
    sue.api.ok(
        "POST",
        "/user/ssh-keys",
        Some(json!({"title": "fido", "key": public.trim(), "password": PASSWORD})),
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
