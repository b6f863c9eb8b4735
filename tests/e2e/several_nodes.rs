//! Two server processes behind one load balancer: one PostgreSQL database,
//! one shared repositories folder, one SSH host key and one secret key.
//! Whatever a request starts on one node, the other finishes.

use serde_json::json;

use crate::common;
use crate::postgres::{count, Database};

use common::accounts::{account, enable_two_step, PASSWORD};
use common::api::ApiClient;
use common::balancer::Balancer;
use common::browser::Chromium;
use common::git::{working_copy, Git};
use common::{Server, ServerOptions};

const SECRET_KEY: &str = "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e";

struct Cluster {
    db: Database,
    shared: tempfile::TempDir,
    balancer: Balancer,
    a: Server,
    b: Server,
}

fn node(db: &Database, shared: &std::path::Path, public_url: &str) -> Server {
    Server::start_with(ServerOptions {
        database_url: Some(db.url()),
        public_url: Some(public_url.to_string()),
        args: vec![
            "--repositories-dir".into(),
            shared.join("repositories").display().to_string(),
            "--ssh-host-key".into(),
            shared.join("ssh_host_ed25519_key").display().to_string(),
        ],
        env: vec![("TWOSTEP_SECRET_KEY".into(), SECRET_KEY.into())],
        ..Default::default()
    })
}

/// `None` when the tests have no PostgreSQL.
fn cluster() -> Option<Cluster> {
    let db = Database::create()?;
    let shared = tempfile::tempdir().unwrap();
    let balancer = Balancer::start(0);
    let public = format!("http://localhost:{}", balancer.port);
    let a = node(&db, shared.path(), &public);
    let b = node(&db, shared.path(), &public);
    balancer.send_to(a.http_port());
    Some(Cluster {
        db,
        shared,
        balancer,
        a,
        b,
    })
}

/// The host key a server offers, as ssh-keyscan prints it.
fn host_key(port: u16) -> String {
    let out = std::process::Command::new("ssh-keyscan")
        .args(["-t", "ed25519", "-p", &port.to_string(), "127.0.0.1"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .last()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn two_nodes_share_sign_ins_locks_and_repositories() {
    let Some(c) = cluster() else {
        return;
    };
    let (a, b) = (&c.a, &c.b);
    let key = host_key(a.ssh_port);
    assert!(!key.is_empty());
    assert_eq!(
        key,
        host_key(b.ssh_port),
        "both nodes offer the one host key"
    );

    // Password on node 1, second step on node 2.
    let nadia = account(a, "nadia");
    let (mut phone, _) = enable_two_step(a, &nadia);
    let half = ApiClient::new(a);
    let r = half.ok(
        "POST",
        "/session",
        Some(json!({"login": "nadia", "password": PASSWORD})),
    );
    assert_eq!(r["status"], "second_step_required");
    let on_b = half.on(b);
    on_b.ok(
        "POST",
        "/session/second-step",
        Some(json!({"code": phone.next_code()})),
    );
    assert_eq!(on_b.ok("GET", "/user", None)["username"], "nadia");
    assert_eq!(half.ok("GET", "/user", None)["username"], "nadia");

    // Wrong codes on node 1 lock the second step on node 2 as well.
    let omar = account(a, "omar");
    let (mut omar_phone, _) = enable_two_step(a, &omar);
    let tries = ApiClient::new(a);
    tries.ok(
        "POST",
        "/session",
        Some(json!({"login": "omar", "password": PASSWORD})),
    );
    let mut locked = false;
    for i in 0..20 {
        let (status, _) = tries.call(
            "POST",
            "/session/second-step",
            Some(json!({"code": format!("{:06}", 100_000 + i * 7)})),
        );
        if status == 429 {
            locked = true;
            break;
        }
        assert_eq!(status, 401);
    }
    assert!(locked, "wrong codes on node 1 raised the lock");
    let fresh = ApiClient::new(b);
    fresh.ok(
        "POST",
        "/session",
        Some(json!({"login": "omar", "password": PASSWORD})),
    );
    fresh.err(
        "POST",
        "/session/second-step",
        Some(json!({"code": omar_phone.next_code()})),
        429,
        "second_step_locked",
    );

    // One repository, pushed to through both nodes in turn: every push lands.
    nadia.api.ok(
        "POST",
        "/repositories",
        Some(json!({"name": "shared", "description": "", "private": true})),
    );
    let via_a = Git::new(a, "nadia-a", &nadia.key);
    let via_b = Git::new(b, "nadia-b", &nadia.key);
    let work = a.data.path().join("work");
    via_a.ok(
        &[
            "clone",
            &via_a.ssh_url("nadia", "shared"),
            work.to_str().unwrap(),
        ],
        None,
    );
    for i in 0..6 {
        working_copy(
            &via_a,
            &work,
            &[(&format!("f{i}.txt"), &format!("change {i}\n"))],
        );
        let (git, url) = if i % 2 == 0 {
            (&via_a, via_a.ssh_url("nadia", "shared"))
        } else {
            (&via_b, via_b.ssh_url("nadia", "shared"))
        };
        git.ok(&["push", &url, "HEAD:main"], Some(&work));
    }
    let head = via_a.ok(&["rev-parse", "HEAD"], Some(&work));
    for git in [&via_a, &via_b] {
        let refs = git.ok(&["ls-remote", &git.ssh_url("nadia", "shared")], None);
        assert!(refs.contains(head.trim()), "{refs}");
    }
    let copy = b.data.path().join("copy");
    via_b.ok(
        &[
            "clone",
            &via_b.ssh_url("nadia", "shared"),
            copy.to_str().unwrap(),
        ],
        None,
    );
    let commits = via_b.ok(&["rev-list", "--count", "HEAD"], Some(&copy));
    assert_eq!(commits.trim(), "6");
    assert!(c
        .shared
        .path()
        .join("repositories/nadia/shared.git")
        .is_dir());
    assert!(!a.data_dir().join("repositories").exists());
    assert_eq!(count(&c.db.url(), "SELECT COUNT(*) FROM repositories"), 1);
}

#[test]
fn a_security_key_registered_through_one_node_signs_in_through_the_other() {
    let Some(c) = cluster() else {
        return;
    };
    let (a, b) = (&c.a, &c.b);
    let public = format!("http://localhost:{}", c.balancer.port);
    let kira = account(a, "kira");
    let (mut phone, _) = enable_two_step(a, &kira);

    let web = Chromium::start("several-nodes-security-key");
    let authenticator = web.add_security_key("ctap2");
    web.goto(&format!("{public}/signin"));
    web.type_into("#login", "kira");
    web.type_into("#password", PASSWORD);
    web.click("form[action='/signin'] button");
    web.wait_for_text("Enter the 6-digit code");
    web.type_into("#code", &phone.next_code());
    web.click("form[action='/signin/second-step'] button");
    web.wait_for_text("Hello, kira");
    web.goto(&format!("{public}/account/two-step"));
    web.type_into("#box-code", &phone.next_code());
    web.click("form.confirm-box button");
    web.wait_for_text("not needed: you confirmed recently");
    web.type_into("#key-name", "desk key");
    web.click("#add-key");
    web.wait_for_text("Security key added");
    assert_eq!(web.key_credentials(&authenticator).len(), 1);
    web.click("form[action='/signout'] button");
    web.wait_for_text("You are signed out.");

    // The password and the key challenge on node 1; the key's answer on node 2.
    web.goto(&format!("{public}/signin"));
    web.type_into("#login", "kira");
    web.type_into("#password", PASSWORD);
    web.click("form[action='/signin'] button");
    web.wait_for_text("Or touch your security key");
    let begun = web.script_async(BEGIN_JS, json!([]));
    assert_eq!(begun["status"], 200, "{begun}");
    c.balancer.send_to(b.http_port());
    // Node 1 is frozen: only node 2 can answer now.
    a.signal("-STOP");
    let answer = web.script_async(FINISH_JS, json!([]));
    assert_eq!(answer["status"], 200, "{answer}");
    web.goto(&format!("{public}/"));
    web.wait_for_text("Hello, kira");
    a.signal("-CONT");

    // A node with another secret key is refused at start, with the reason.
    let other = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_twostep"))
        .args([
            "admin",
            "users",
            "--database-url",
            &c.db.url(),
            "--data-dir",
        ])
        .arg(other.path())
        .env("TWOSTEP_SECRET_KEY", "ab".repeat(32))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("secret key is not the one the database"),
        "{said}"
    );
}

/// Starts the key sign-in (the challenge is stored by whichever node answers).
const BEGIN_JS: &str = r#"
const done = arguments[arguments.length - 1];
const csrf = document.querySelector('meta[name="csrf-token"]').content;
fetch("/signin/second-step/key/begin", { method: "POST", headers: { "content-type": "application/json", "x-csrf-token": csrf }, body: "{}" })
  .then(async (r) => { window.begun = await r.json(); done({ status: r.status }); })
  .catch((e) => done({ status: 0, body: String(e) }));
"#;

/// Touches the key for the stored challenge and posts the answer.
const FINISH_JS: &str = r#"
const done = arguments[arguments.length - 1];
const dec = (s) => { s = s.replace(/-/g, "+").replace(/_/g, "/"); while (s.length % 4) s += "=";
  const b = atob(s); const o = new Uint8Array(b.length); for (let i = 0; i < b.length; i++) o[i] = b.charCodeAt(i); return o.buffer; };
const enc = (buf) => { const a = new Uint8Array(buf); let s = ""; for (const x of a) s += String.fromCharCode(x);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""); };
const csrf = document.querySelector('meta[name="csrf-token"]').content;
(async () => {
  const pk = window.begun.options.publicKey;
  pk.challenge = dec(pk.challenge);
  pk.allowCredentials = (pk.allowCredentials || []).map((c) => ({ type: c.type, id: dec(c.id) }));
  const c = await navigator.credentials.get({ publicKey: pk });
  const r = await fetch("/signin/second-step/key/finish", { method: "POST",
    headers: { "content-type": "application/json", "x-csrf-token": csrf },
    body: JSON.stringify({ ceremony: window.begun.ceremony, credential: {
      id: c.id, rawId: enc(c.rawId), type: c.type, extensions: {},
      response: { authenticatorData: enc(c.response.authenticatorData), clientDataJSON: enc(c.response.clientDataJSON),
        signature: enc(c.response.signature), userHandle: null } } }) });
  done({ status: r.status, body: await r.json() });
})().catch((e) => done({ status: 0, body: String(e) }));
"#;
