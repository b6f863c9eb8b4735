//! SSH certificates per workspace, made by `ssh-keygen -s`: a workspace
//! admin trusts a certificate authority; Git over SSH then takes a user
//! certificate it signed as the member its principal names, within its
//! window, for that workspace's repositories only. An expired certificate,
//! a principal naming nobody or a non-member, and a removed authority are
//! refused with a sentence; the workspace can require certificates.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

use crate::common;
use common::accounts::{account, PASSWORD};
use common::git::{working_copy, Git};
use common::{ssh_keygen, Server};

/// `ssh-keygen -s CA -I ID -n PRINCIPALS -V WINDOW` over a new key pair:
/// the key (its certificate beside it, as OpenSSH finds it).
fn certified(dir: &Path, ca: &Path, name: &str, principals: &str, window: &str) -> PathBuf {
    certified_with(dir, ca, name, principals, window, &[])
}

fn certified_with(
    dir: &Path,
    ca: &Path,
    name: &str,
    principals: &str,
    window: &str,
    options: &[&str],
) -> PathBuf {
    let (key, _) = ssh_keygen(dir, name);
    let out = Command::new("ssh-keygen")
        .args(["-q", "-s"])
        .arg(ca)
        .args([
            "-I",
            &format!("{name}@corp"),
            "-n",
            principals,
            "-V",
            window,
        ])
        .args(options)
        .arg(key.with_extension("pub"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cert = dir.join(format!("{name}-cert.pub"));
    assert!(cert.exists(), "ssh-keygen wrote {}", cert.display());
    key
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_workspace_certificate_reaches_its_repositories_as_the_member_it_names() {
    let server = Server::start();
    let dir = server.data.path();
    let ann = account(&server, "ann");
    let bob = account(&server, "bob");
    let _carl = account(&server, "carl");
    ann.api
        .ok("POST", "/workspaces", Some(json!({"name": "corp"})));
    ann.api.ok(
        "POST",
        "/workspaces/corp/repositories",
        Some(json!({"name": "app"})),
    );
    ann.api.ok(
        "POST",
        "/workspaces/corp/members",
        Some(json!({"username": "bob", "role": "write", "password": PASSWORD})),
    );
    let (ca, ca_pub) = ssh_keygen(dir, "corp_ca");
    // Only admins, with a fresh proof, add an authority; every admin is mailed.
    bob.api.err(
        "POST",
        "/workspaces/corp/certificate-authorities",
        Some(json!({"title": "CI", "public_key": ca_pub, "password": PASSWORD})),
        403,
        "forbidden",
    );
    let added = ann.api.ok(
        "POST",
        "/workspaces/corp/certificate-authorities",
        Some(json!({"title": "Corp CA", "public_key": ca_pub, "password": PASSWORD})),
    );
    assert!(
        added["fingerprint"]
            .as_str()
            .unwrap()
            .starts_with("SHA256:"),
        "{added}"
    );
    server.mail.wait_for(
        "ann@example.net",
        "A certificate authority was added to a workspace",
    );

    // Bob's certificate (its key registered nowhere) pushes as bob.
    let key = certified(dir, &ca, "bob_laptop", "bob", "-5m:+1h");
    let git = Git::new(&server, "bob-cert", &key);
    let wc = dir.join("wc");
    working_copy(&git, &wc, &[("README", "signed in with a certificate\n")]);
    git.ok(
        &["push", "-q", &git.ssh_url("corp", "app"), "main"],
        Some(&wc),
    );
    let log = server.log_text();
    assert!(log.contains("ssh certificate accepted"), "{log}");
    let refs = git.ok(&["ls-remote", &git.ssh_url("corp", "app")], None);
    assert!(refs.contains("refs/heads/main"), "{refs}");
    // Git to that workspace only; nothing else runs with a certificate.
    let own = git.fails(&["ls-remote", &git.ssh_url("bob", "notes")], None);
    assert!(own.contains("bob is not one of them"), "{own}");
    let hello = git.ssh(&[], None);
    assert!(
        stderr(&hello).contains("An SSH certificate reaches only the Git repositories"),
        "{}",
        stderr(&hello)
    );
    let codes = git.ssh(&["recovery_codes"], None);
    assert!(!codes.status.success());
    assert!(
        stderr(&codes).contains("An SSH certificate reaches only"),
        "{}",
        stderr(&codes)
    );

    // Refused with the reason.
    let refused = |key: &Path| {
        Git::new(
            &server,
            &format!("t-{}", key.display().to_string().len()),
            key,
        )
        .fails(&["ls-remote", &git.ssh_url("corp", "app")], None)
    };
    let expired = certified(dir, &ca, "old", "bob", "20200101:20200102");
    let e = refused(&expired);
    assert!(
        e.contains("This SSH certificate expired on 2020-01-02"),
        "{e}"
    );
    let nobody = certified(dir, &ca, "nobody", "nobody,root", "-5m:+1h");
    let e = refused(&nobody);
    assert!(
        e.contains("principals (nobody, root) name no account here"),
        "{e}"
    );
    let carl = certified(dir, &ca, "carl_laptop", "carl", "-5m:+1h");
    let e = refused(&carl);
    assert!(
        e.contains("carl, who is not a member of the workspace corp"),
        "{e}"
    );
    // Critical options are not enforced here: such a certificate is refused.
    let pinned = certified_with(
        dir,
        &ca,
        "pinned",
        "bob",
        "-5m:+1h",
        &["-O", "source-address=10.0.0.0/8"],
    );
    let e = refused(&pinned);
    assert!(
        e.contains("critical options twostep does not enforce (source-address)"),
        "{e}"
    );
    // An authority no workspace has: refused at sign-in.
    let (other_ca, _) = ssh_keygen(dir, "other_ca");
    let stranger = certified(dir, &other_ca, "stranger", "bob", "-5m:+1h");
    let e = refused(&stranger);
    assert!(e.contains("Permission denied"), "{e}");

    // The workspace requires certificates: bob's registered key is refused.
    let rules = ann.api.ok(
        "POST",
        "/workspaces/corp/ssh-rules",
        Some(json!({"keys": "any", "certificates_required": true, "password": PASSWORD})),
    );
    assert_eq!(rules["certificates_required"], true, "{rules}");
    let bob_key = Git::new(&server, "bob", &bob.key);
    let e = bob_key.fails(&["ls-remote", &git.ssh_url("corp", "app")], None);
    assert!(
        e.contains("accepts only SSH certificates signed by its certificate authority"),
        "{e}"
    );
    git.ok(&["ls-remote", &git.ssh_url("corp", "app")], None);

    // Its last authority stays while certificates are required; once
    // removed, its certificates are refused with the date.
    let id = added["id"].as_str().unwrap();
    ann.api
        .ok("POST", "/session/sudo", Some(json!({"password": PASSWORD})));
    ann.api.err(
        "DELETE",
        &format!("/workspaces/corp/certificate-authorities/{id}"),
        None,
        409,
        "conflict",
    );
    ann.api.ok(
        "POST",
        "/workspaces/corp/ssh-rules",
        Some(json!({"keys": "any", "certificates_required": false})),
    );
    let (status, _) = ann.api.call(
        "DELETE",
        &format!("/workspaces/corp/certificate-authorities/{id}"),
        None,
    );
    assert_eq!(status, 204);
    let e = git.fails(&["ls-remote", &git.ssh_url("corp", "app")], None);
    assert!(
        e.contains("The certificate authority \"Corp CA\" that signed this certificate was removed from the workspace corp"),
        "{e}"
    );
    bob_key.ok(&["ls-remote", &git.ssh_url("corp", "app")], None);
    let w = ann.api.ok("GET", "/workspaces/corp", None);
    assert!(
        w["ssh"]["certificate_authorities"][0]["removed_at"].is_i64(),
        "{w}"
    );
    // Trusted again, its certificates work again.
    ann.api.ok(
        "POST",
        "/workspaces/corp/certificate-authorities",
        Some(json!({"title": "Corp CA", "public_key": ca_pub})),
    );
    git.ok(&["ls-remote", &git.ssh_url("corp", "app")], None);
}
