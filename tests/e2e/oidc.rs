//! Signing in with OpenID Connect against a real provider: panva's certified
//! `oidc-provider` (tests/e2e/oidc, installed by the test script from the
//! npm registry) started on a free port. Headless Chromium signs up through
//! it, signs in again as the same account, links it to an existing account
//! (whose own second step still applies afterwards), and the accounts the
//! provider may not make are refused with a message.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use crate::common;

use common::accounts::{account, enable_two_step, PASSWORD};
use common::browser::Chromium;
use common::web_journey::{localhost, sign_out};
use common::{free_port, Server, ServerOptions};

pub(crate) struct OpenIdProvider {
    child: Child,
    port: u16,
}

impl Drop for OpenIdProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn provider_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/e2e/oidc")
}

impl OpenIdProvider {
    /// The lying provider (tampering.mjs) on a free port (another one if a
    /// parallel test took the first).
    fn liar() -> OpenIdProvider {
        (0..5)
            .find_map(|_| OpenIdProvider::try_run("tampering.mjs", free_port(), &[]))
            .expect("the lying provider starts")
    }

    fn run(script: &str, port: u16, args: &[&str]) -> OpenIdProvider {
        OpenIdProvider::try_run(script, port, args)
            .unwrap_or_else(|| panic!("the provider did not start on port {port}"))
    }

    /// `None` when the provider could not start (its port was taken by
    /// another test between choosing and binding it).
    fn try_run(script: &str, port: u16, args: &[&str]) -> Option<OpenIdProvider> {
        assert!(
            provider_dir().join("node_modules/oidc-provider").is_dir(),
            "oidc-provider is installed (the test script runs npm ci in tests/e2e/oidc)"
        );
        let mut child = Command::new("node")
            .arg(provider_dir().join(script))
            .arg(port.to_string())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node runs");
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        if !line.starts_with("ready") {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        // Drained, so the provider's later warnings never meet a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        Some(OpenIdProvider { child, port })
    }
}

/// A twostep server with one provider, and the provider (tried again on
/// another port if a parallel test took the first between choosing and
/// binding it).
fn start() -> (Server, OpenIdProvider) {
    start_with(&[])
}

/// The same, the server given more flags.
pub(crate) fn start_with(args: &[&str]) -> (Server, OpenIdProvider) {
    for _ in 0..5 {
        if let Some(both) = try_start(args) {
            return both;
        }
    }
    panic!("the OpenID provider would not start");
}

fn try_start(more: &[&str]) -> Option<(Server, OpenIdProvider)> {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap().keep();
    let config = dir.join("twostep.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[[oidc]]
id = "corp"
display_name = "Corp SSO"
issuer = "http://localhost:{port}"
client_id = "twostep"
client_secret = "twostep-test-secret"
create_accounts = true
allowed_domains = ["example.net"]
"#
        ),
    )
    .unwrap();
    let mut args = vec!["--config".to_string(), config.display().to_string()];
    args.extend(more.iter().map(|a| a.to_string()));
    let server = Server::start_with(ServerOptions {
        localhost: true,
        args,
        ..Default::default()
    });
    let provider = OpenIdProvider::try_run(
        "provider.mjs",
        port,
        &[&localhost(&server, "/signin/oidc/corp/callback")],
    )?;
    Some((server, provider))
}

/// At the provider's development pages: sign in as `login`, then consent
/// (asked only the first time).
pub(crate) fn at_provider(web: &Chromium, provider: &OpenIdProvider, login: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !web.url().contains(&format!("localhost:{}", provider.port)) {
        assert!(
            std::time::Instant::now() < deadline,
            "not at the provider: {}\n{}",
            web.url(),
            web.text()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    web.wait_for_text("Sign-in");
    web.type_into("input[name=login]", login);
    web.type_into("input[name=password]", "any password");
    web.click("button[type=submit]");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if !web.url().contains(&format!("localhost:{}", provider.port)) {
            return;
        }
        if web.text().contains("Authorize") {
            web.click("button[type=submit]");
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "stuck at the provider: {}",
            web.text()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn sign_up_sign_in_and_link_through_a_real_openid_provider() {
    let (server, provider) = start();

    // A new account, made by the provider's first sign-in: no password.
    let web = Chromium::start("oidc-signup");
    web.goto(&localhost(&server, "/signin"));
    web.screenshot("signin-with-provider");
    web.click("#signin-corp");
    at_provider(&web, &provider, "olga");
    web.wait_for_text("Hello, olga");
    web.goto(&localhost(&server, "/account/sign-in-providers"));
    web.wait_for_text("olga@example.net");
    web.wait_for_text("This account has no password");
    web.screenshot("linked-providers");
    web.goto(&localhost(&server, "/account/security-log"));
    web.wait_for_text("through Corp SSO");
    // Signed out and in again: the same account, not a second one.
    sign_out(&web);
    web.goto(&localhost(&server, "/signin"));
    web.click("#signin-corp");
    web.wait_for_text("Hello, olga");
    assert!(!web.text().contains("olga1"));

    // An existing account links the provider (in sudo mode), then signs in
    // through it, and its own second step still applies.
    let ivan = account(&server, "ivan");
    let (mut phone, codes) = enable_two_step(&server, &ivan);
    let web2 = Chromium::start("oidc-link");
    web2.goto(&localhost(&server, "/signin"));
    web2.type_into("#login", "ivan");
    web2.type_into("#password", PASSWORD);
    web2.click("form[action='/signin'] button");
    web2.wait_for_text("Enter the 6-digit code");
    web2.type_into("#code", &phone.next_code());
    web2.click("form[action='/signin/second-step'] button");
    web2.wait_for_text("Hello, ivan");
    web2.goto(&localhost(&server, "/account/sign-in-providers"));
    web2.click("#link-corp");
    web2.wait_for_text("Confirm it is you");
    // Recovery codes here and below: a third code from the phone may be a
    // step (up to 30 s) away.
    web2.type_into("#code", &codes[0]);
    web2.click("form[action='/account/confirm'] button[type=submit]");
    web2.wait_for_text("Link Corp SSO");
    web2.click("#link-corp");
    at_provider(&web2, &provider, "ivan.corp");
    web2.wait_for_text("Provider linked");
    web2.wait_for_text("ivan.corp@example.net");
    server
        .mail
        .wait_for("ivan@example.net", "A sign-in provider was linked");
    // Signing in at the provider again is no proof for ivan: his account has
    // a password and two-step on, so a second factor is part of every proof.
    // The confirm page does not offer it, and asking anyway opens nothing.
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // (A new session, signed in with the password and a code: no window.)
    let fresh = common::api::ApiClient::new(&server);
    fresh.ok(
        "POST",
        "/session",
        Some(serde_json::json!({"login": "ivan", "password": PASSWORD})),
    );
    fresh.ok(
        "POST",
        "/session/second-step",
        Some(serde_json::json!({"code": codes[2]})),
    );
    let session = fresh.cookie("twostep_session").expect("ivan's session");
    let cookies = format!("twostep_session={session}");
    let confirm = http
        .get(localhost(&server, "/account/confirm?next=/account"))
        .header("cookie", &cookies)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(confirm.contains("Confirm it is you"), "{confirm}");
    assert!(!confirm.contains("confirm-with-corp"), "{confirm}");
    let csrf = common::field_value(&confirm, "csrf").unwrap();
    let asked = http
        .post(localhost(&server, "/account/confirm/oidc/corp"))
        .header("cookie", &cookies)
        .form(&[("csrf", csrf.as_str()), ("next", "/account")])
        .send()
        .unwrap();
    assert_ne!(
        asked.status().as_u16(),
        200,
        "no trip to the provider begins"
    );
    let said = asked.text().unwrap();
    assert!(said.contains("confirm with a code"), "{said}");
    let change = http
        .post(localhost(&server, "/api/v1/user/two-step/recovery-codes"))
        .header("cookie", &cookies)
        .json(&serde_json::json!({}))
        .send()
        .unwrap();
    assert_eq!(change.status().as_u16(), 403, "sudo stays closed");
    sign_out(&web2);
    web2.goto(&localhost(&server, "/signin"));
    web2.click("#signin-corp");
    web2.wait_for_text("Enter the 6-digit code");
    web2.screenshot("second-step-after-provider");
    web2.type_into("#code", &codes[1]);
    web2.click("form[action='/signin/second-step'] button");
    web2.wait_for_text("Hello, ivan");

    // What the provider may not make: an account for an email that has one
    // already (never linked silently), or for a domain not allowed.
    let web3 = Chromium::start("oidc-refused");
    web3.goto(&localhost(&server, "/signin"));
    web3.click("#signin-corp");
    at_provider(&web3, &provider, "ivan");
    web3.wait_for_text("An account with ivan@example.net exists already");
    assert!(!web3.text().contains("Hello, ivan"));
    let web4 = Chromium::start("oidc-domain");
    web4.goto(&localhost(&server, "/signin"));
    web4.click("#signin-corp");
    at_provider(&web4, &provider, "eve@evil.test");
    web4.wait_for_text("made for example.net addresses only");
    web4.screenshot("domain-refused");
}

/// Follows one sign-in through a provider without a browser: twostep's
/// redirect, the provider's redirect back, and twostep's answer to it.
fn sign_in_through(server: &Server, provider: &str) -> (u16, String, bool) {
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let http = reqwest::blocking::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let location =
        |r: &reqwest::blocking::Response| r.headers()["location"].to_str().unwrap().to_string();
    let to_provider = http
        .get(localhost(server, &format!("/signin/oidc/{provider}")))
        .send()
        .unwrap();
    assert_eq!(to_provider.status().as_u16(), 303, "{provider}");
    let back = http.get(location(&to_provider)).send().unwrap();
    assert_eq!(back.status().as_u16(), 302, "{provider}");
    let answer = http.get(location(&back)).send().unwrap();
    let status = answer.status().as_u16();
    let text = answer.text().unwrap();
    let session = common::cookie_in(&jar, &localhost(server, "/"), "twostep_session").is_some();
    (status, text, session)
}

#[test]
fn spoiled_id_tokens_sign_nobody_in() {
    let liar = OpenIdProvider::liar();
    let port = liar.port;
    let modes = [
        "good",
        "wrong-aud",
        "expired",
        "bad-signature",
        "wrong-nonce",
    ];
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("twostep.toml");
    let tables: String = modes
        .iter()
        .map(|m| {
            format!(
                "[[oidc]]\nid = \"{m}\"\nissuer = \"http://localhost:{port}/{m}\"\nclient_id = \"twostep\"\nclient_secret = \"s\"\ncreate_accounts = true\n\n"
            )
        })
        .collect();
    std::fs::write(&config, tables).unwrap();
    let server = Server::start_with(ServerOptions {
        localhost: true,
        args: vec!["--config".into(), config.display().to_string()],
        ..Default::default()
    });

    // The harness works: an honest token signs in (and makes the account).
    let (status, text, session) = sign_in_through(&server, "good");
    assert_eq!(status, 303, "{text}");
    assert!(session);
    let reasons = [
        "Invalid audiences",
        "ID token expired",
        "Signature verification failed",
        "nonce mismatch",
    ];
    for (mode, reason) in modes[1..].iter().zip(reasons) {
        let (status, text, session) = sign_in_through(&server, mode);
        assert!(text.contains(reason), "{mode}: {text}");
        assert_eq!(status, 403, "{mode}: {text}");
        assert!(text.contains("could not be verified"), "{mode}: {text}");
        assert!(text.contains("Nobody was signed in"), "{mode}: {text}");
        assert!(!session, "{mode}: a session cookie was set");
    }
    // The provider rotates its signing key: twostep, holding the old JWKS,
    // fetches the keys again once and signs the honest token in.
    let rotated: serde_json::Value =
        reqwest::blocking::get(format!("http://localhost:{port}/rotate"))
            .unwrap()
            .json()
            .unwrap();
    assert_eq!(rotated["kid"], "k2");
    let (status, text, session) = sign_in_through(&server, "good");
    assert_eq!(status, 303, "after a key rotation: {text}");
    assert!(session);
    let users = Command::new(env!("CARGO_BIN_EXE_twostep"))
        .args(["admin", "users", "--data-dir"])
        .arg(server.data_dir())
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&users.stdout);
    assert!(listed.contains("liar-good"), "{listed}");
    assert!(
        !listed.contains("liar-wrong")
            && !listed.contains("liar-expired")
            && !listed.contains("liar-bad"),
        "{listed}"
    );
}

#[test]
fn an_account_with_no_password_confirms_by_its_provider_and_gets_codes_over_ssh_by_a_mailed_link() {
    let (server, provider) = start();
    // The help page shows these accounts their way back in (providers are
    // configured here; a server without any shows no such row).
    let help = reqwest::blocking::get(server.url("/help/recovery"))
        .unwrap()
        .text()
        .unwrap();
    assert!(help.contains("id=\"provider-way-back\""), "{help}");
    let plain = Server::start();
    let help = reqwest::blocking::get(plain.url("/help/recovery"))
        .unwrap()
        .text()
        .unwrap();
    assert!(!help.contains("provider-way-back"));
    let web = Chromium::start("oidc-no-password");
    web.goto(&localhost(&server, "/signin"));
    web.click("#signin-corp");
    at_provider(&web, &provider, "pat");
    web.wait_for_text("Hello, pat");

    // Security changes: confirmed by signing in at the provider again.
    web.goto(&localhost(&server, "/account/ssh-keys"));
    web.click("#box-provider");
    web.wait_for_text("Confirm it is you");
    web.screenshot("confirm-with-provider");
    web.click("#confirm-with-corp");
    at_provider(&web, &provider, "pat");
    web.wait_for_text("Add a key");
    assert!(
        !web.text()
            .contains("Changes on this page need you to confirm"),
        "{}",
        web.text()
    );
    let (key, public) = common::ssh_keygen(server.data.path(), "pat_id");
    web.type_into("#title", "laptop");
    web.type_into("#key", &public);
    web.click("form.stack:not(.confirm-box) button[type=submit]");
    web.wait_for_text("SSH key added.");
    web.goto(&localhost(&server, "/account/security-log"));
    web.wait_for_text("Corp SSO");

    // Two-step on: the checklist takes the provider for a password.
    web.goto(&localhost(&server, "/account/two-step"));
    web.wait_for_text("Account password or a sign-in provider");
    let (_phone, old_codes) =
        common::web_journey::authenticator_on(&server, &web, "pat", "pat@example.net");

    // `ssh … recovery_codes` mails a link and waits; the owner approves it
    // in the signed-in browser; the command prints the new codes.
    let git = common::git::Git::new(&server, "pat", &key);
    let waiting = std::thread::spawn(move || git.ssh(&["recovery_codes"], None));
    let link = server
        .mail
        .wait_for("pat@example.net", "Approve a request made over SSH")
        .link("/account/approve-ssh");
    web.goto(&link);
    web.wait_for_text("Approve a request made over SSH");
    web.screenshot("approve-ssh");
    web.click("#approve-ssh");
    web.wait_for_text("You approved new recovery codes over SSH");
    let out = waiting.join().unwrap();
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("we mailed you a link"), "{said}");
    assert!(
        said.contains("Here are 6 new recovery codes for pat"),
        "{said}"
    );
    assert!(!said.contains(&old_codes[0]), "{said}");
    // The approval was used: opening the link again approves nothing.
    web.goto(&link);
    web.wait_for_text("invalid, has expired or was already used");

    // `ssh … password` gives the account its first password the same way.
    let git = common::git::Git::new(&server, "pat-password", &key);
    let new_password = "copper-lantern-8812";
    let typed = format!("{new_password}\n{new_password}\n");
    let waiting = std::thread::spawn(move || git.ssh(&["password"], Some(&typed)));
    let link = server
        .mail
        .wait_for_nth("pat@example.net", "Approve a request made over SSH", 2)
        .link("/account/approve-ssh");
    web.goto(&link);
    web.wait_for_text("a password for your account");
    web.click("#approve-ssh");
    web.wait_for_text("You approved a password for your account");
    let out = waiting.join().unwrap();
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("pat has a password now"), "{said}");
    // Signed out everywhere; the password works, and the second step follows.
    web.goto(&localhost(&server, "/signin"));
    web.type_into("#login", "pat");
    web.type_into("#password", new_password);
    web.click("form[action='/signin'] button");
    web.wait_for_text("Enter the 6-digit code");
}

#[test]
fn a_provider_trusted_for_mfa_skips_the_second_step_only_when_its_token_says_so() {
    let liar = OpenIdProvider::liar();
    let port = liar.port;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("twostep.toml");
    std::fs::write(
        &config,
        format!(
            "[[oidc]]\nid = \"mfa\"\nissuer = \"http://localhost:{port}/mfa\"\nclient_id = \"twostep\"\nclient_secret = \"s\"\ntrusted_for_mfa = true\n\n\
             [[oidc]]\nid = \"plain\"\nissuer = \"http://localhost:{port}/good\"\nclient_id = \"twostep\"\nclient_secret = \"s\"\ntrusted_for_mfa = true\n"
        ),
    )
    .unwrap();
    let server = Server::start_with(ServerOptions {
        args: vec!["--config".into(), config.display().to_string()],
        ..Default::default()
    });
    let wes = account(&server, "wes");
    let (mut phone, codes) = enable_two_step(&server, &wes);

    // Signed in with password and code, in sudo mode, wes links both.
    let web = server.signed_in_browser("wes", &mut phone);
    web.submit(
        "/account/confirm",
        "/account/confirm",
        &[("code", &codes[0]), ("next", "/account/sign-in-providers")],
    );
    for provider in ["mfa", "plain"] {
        let leaving = web.submit(
            "/account/sign-in-providers",
            &format!("/account/sign-in-providers/{provider}/link"),
            &[],
        );
        let done = web.get(&common::refresh_target(&leaving.body));
        done.assert_contains("Provider linked");
    }

    // Signed out: the trusted provider whose token names a second factor
    // signs wes in fully; the one whose token does not still leads to
    // twostep's second step.
    for (provider, second_step) in [("mfa", false), ("plain", true)] {
        let fresh = server.browser();
        let page = fresh.get(&format!("/signin/oidc/{provider}"));
        if second_step {
            page.assert_contains("Enter the 6-digit code");
        } else {
            page.assert_contains("Hello, wes");
        }
    }
    let log = wes.api.ok("GET", "/user/security-log", None);
    assert!(
        log.to_string().contains("mfa (with its second factor)"),
        "{log}"
    );
}

/// Ceremonies cost the server nothing until they succeed. A flood from a
/// thousand loopback addresses (127.0.0.0/8: forty /24 networks) of trips
/// to the provider, password-less passkey starts and device authorizations
/// leaves no row behind for the first two (they travel sealed in the
/// browser), the third within each network's cap (counted atomically), and
/// stops nobody: another
/// application's device flow and a real sign-in through the provider go
/// through afterwards.
#[test]
fn a_flood_of_ceremony_starts_from_many_addresses_stops_no_sign_in() {
    let (server, provider) = start();
    let owen = account(&server, "owen");
    let app = |name: &str| -> String {
        owen.api.ok(
            "POST",
            "/user/oauth-apps",
            Some(serde_json::json!({"name": name, "redirect_uris": ["http://127.0.0.1/"], "confidential": false})),
        )["client_id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (flooded, other) = (app("flooded"), app("other"));
    let base = localhost(&server, "");
    let flood = |from: std::net::IpAddr, client_id: &str| -> (u16, u16, u16) {
        let http = reqwest::blocking::Client::builder()
            .local_address(from)
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let trip = http
            .get(format!("{base}/signin/oidc/corp"))
            .send()
            .unwrap()
            .status()
            .as_u16();
        let page = http
            .get(format!("{base}/signin"))
            .send()
            .unwrap()
            .text()
            .unwrap();
        let csrf = common::field_value(&page, "csrf").unwrap();
        let passkey = http
            .post(format!("{base}/signin/passkey/begin"))
            .header("x-csrf-token", csrf)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .unwrap()
            .status()
            .as_u16();
        let device = http
            .post(format!("{base}/oauth/device_authorization"))
            .form(&[("client_id", client_id), ("scope", "repository:read")])
            .send()
            .unwrap()
            .status()
            .as_u16();
        (trip, passkey, device)
    };
    // Device requests are counted in ten-minute windows on the clock: the
    // flood and the ten more below must fall in one, so a start close to a
    // window's end waits for the next window.
    let into_window = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        % 600;
    if into_window > 600 - 120 {
        std::thread::sleep(std::time::Duration::from_secs(600 - into_window + 1));
    }
    // Eight clients at a time; forty /24 networks of 25 addresses.
    let mut answers = Vec::new();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8u8)
            .map(|t| {
                let (flood, flooded) = (&flood, &flooded);
                scope.spawn(move || {
                    let mut out = Vec::new();
                    for net in t * 5..t * 5 + 5 {
                        for host in 1..=25u8 {
                            let from = std::net::Ipv4Addr::new(127, 1, net, host);
                            out.push(flood(from.into(), flooded));
                        }
                    }
                    out
                })
            })
            .collect();
        for h in handles {
            answers.extend(h.join().unwrap());
        }
    });
    assert_eq!(answers.len(), 1000);
    assert!(answers.iter().all(|a| a.0 == 303), "every trip begins");
    assert!(
        answers.iter().all(|a| a.1 == 200),
        "every passkey start answers"
    );
    // 25 device requests from each network: all under its cap of 30.
    assert!(answers.iter().all(|a| a.2 == 200), "every device request");
    // Ten more from one network: five reach its cap, counted atomically.
    let more: Vec<u16> = (100..110u8)
        .map(|h| flood(std::net::Ipv4Addr::new(127, 1, 0, h).into(), &flooded).2)
        .collect();
    assert_eq!(more.iter().filter(|s| **s == 200).count(), 5, "{more:?}");
    assert_eq!(more.iter().filter(|s| **s == 400).count(), 5, "{more:?}");
    let db = server.data_dir().join("twostep.db");
    let count = |table: &str| -> String {
        let out = Command::new("sqlite3")
            .arg(&db)
            .arg(format!("SELECT COUNT(*) FROM {table}"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(
        count("ceremonies_done"),
        "0",
        "nothing stored for 2,000 starts"
    );
    assert_eq!(count("oauth_devices"), "1005");
    // Another application is not slowed down by the flood of the first.
    let fresh = flood("127.9.9.9".parse().unwrap(), &other);
    assert_eq!(fresh.2, 200);
    // And a real sign-in through the provider goes through.
    let web = Chromium::start("oidc-after-flood");
    web.goto(&localhost(&server, "/signin"));
    web.click("#signin-corp");
    at_provider(&web, &provider, "fay");
    web.wait_for_text("Hello, fay");
}
