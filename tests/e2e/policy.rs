//! One story per way in that the requirement table closed, through the real
//! binary: a stolen cookie cannot grant an application, a squatter can make
//! no credential, resets end OAuth grants, one administrator alone cannot
//! reach another's factors, a workspace admin without two-step reaches
//! nothing after the grace period, and the small protocol points (RFC 6750
//! and RFC 6749 §4.1.2).

use std::process::Command;

use serde_json::{json, Value};

use crate::admin::{cli_ok, email, sudo, two_step_user};
use crate::common;
use crate::oauth::{app_of_ola, authorise, bearer, client, REDIRECT};
use common::accounts::{account, enable_two_step, PASSWORD};
use common::{field_value, Browser, Server, REFUSED};

/// Starts an authorization with authlib and opens its consent page in `web`.
fn consent_page(
    server: &Server,
    web: &Browser,
    client_id: &str,
) -> (common::Page, Vec<(String, String)>) {
    let start = client(&[
        "start",
        &server.base,
        client_id,
        REDIRECT,
        "repository:read",
    ]);
    let page = web.get(start["url"].as_str().unwrap());
    let names = [
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
    ];
    let fields = names
        .iter()
        .map(|n| {
            (
                n.to_string(),
                field_value(&page.body, n).unwrap_or_default(),
            )
        })
        .collect();
    (page, fields)
}

fn refresh(server: &Server, client_id: &str, token: &str) -> Value {
    client(&["refresh", &server.base, client_id, token])
}

/// What a thief holding only ola's session cookie gets: the consent page,
/// but no grant without a fresh factor, on the consent page and on the
/// device page alike.
#[test]
fn a_stolen_cookie_authorises_no_application_and_resets_end_every_grant() {
    let server = Server::start();
    let (mut phone, api, app) = app_of_ola(&server, "ci-tool", REDIRECT);
    let client_id = app["client_id"].as_str().unwrap().to_string();
    let stolen = server.signed_in_browser("ola", &mut phone);
    let (page, fields) = consent_page(&server, &stolen, &client_id);
    page.assert_contains("Authorise ci-tool?")
        .assert_contains("name=\"code\"");
    let form: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let refused = stolen.post_form_raw("/oauth/authorize", &page.csrf(), &form);
    assert_eq!(refused.status, 303, "{}", refused.body);
    assert_eq!(refused.refused.as_deref(), Some("sudo"));
    assert!(
        refused.location.starts_with("/account/confirm"),
        "{}",
        refused.location
    );
    // The device page: the same.
    let start = client(&["device", &server.base, &client_id, "repository:read"]);
    let user_code = start["user_code"].as_str().unwrap();
    let device_page = stolen.get(&format!("/oauth/device?user_code={user_code}"));
    device_page.assert_contains("Authorise ci-tool");
    let refused = stolen.post_form_raw(
        "/oauth/device",
        &device_page.csrf(),
        &[("user_code", user_code)],
    );
    assert_eq!(refused.refused.as_deref(), Some("sudo"));
    let poll = client(&[
        "poll",
        &server.base,
        &client_id,
        start["device_code"].as_str().unwrap(),
    ]);
    assert_eq!(poll["error"], "authorization_pending", "{poll}");
    assert!(api
        .ok("GET", "/user/authorized-apps", None)
        .as_array()
        .unwrap()
        .is_empty());

    // With a code it works; an administrator's reset then ends the grant.
    let tokens = authorise(&server, &stolen, &client_id, &phone.next_code());
    let (access, refresh_token) = (
        tokens["access_token"].as_str().unwrap().to_string(),
        tokens["refresh_token"].as_str().unwrap().to_string(),
    );
    assert_eq!(bearer(&server, &access, "GET", "/api/v1/user"), 200);
    let (root, mut root_phone, _) = two_step_user(&server, "rootadm");
    cli_ok(&server, &["grant", "rootadm"]);
    sudo(&root, &mut root_phone);
    root.api.ok(
        "POST",
        "/admin/users/ola/two-step/reset",
        Some(json!({"reason": "lost everything, identity checked"})),
    );
    assert_eq!(bearer(&server, &access, "GET", "/api/v1/user"), 401);
    assert_eq!(
        refresh(&server, &client_id, &refresh_token)["error"],
        "invalid_grant"
    );
    let mail = server.mail.wait_for(
        "ola@example.net",
        "Two-step verification reset by an administrator",
    );
    assert!(mail.raw.contains("authorised applications"), "{}", mail.raw);
}

/// A password reset by mail, and a finished self-service recovery, end OAuth
/// grants too (each calls the one revocation).
#[test]
fn a_password_reset_and_a_finished_recovery_end_oauth_grants() {
    let server = crate::recover::server();
    let (mut phone, _api, app) = app_of_ola(&server, "ci-tool", REDIRECT);
    let client_id = app["client_id"].as_str().unwrap().to_string();
    let web = server.signed_in_browser("ola", &mut phone);
    let tokens = authorise(&server, &web, &client_id, &phone.next_code());
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_string();

    // The reset by mail: the review page lists the application it ended.
    let b = server.browser();
    b.submit(
        "/password/forgot",
        "/password/forgot",
        &[("email", "ola@example.net")],
    );
    let link = server
        .mail
        .wait_for("ola@example.net", "Reset your password")
        .link("/password/reset");
    let form = b.get(&link);
    let token = field_value(&form.body, "token").unwrap();
    let review = b.post_form(
        "/password/reset",
        &form.csrf(),
        &[("token", &token), ("password", "another-long-passphrase-9")],
    );
    assert_eq!(
        common::texts(&review.body, "#review-ended li"),
        ["Application \"ci-tool\" (repository:read account:read)"]
    );
    assert_eq!(
        refresh(&server, &client_id, &refresh_token)["error"],
        "invalid_grant"
    );

    // A new grant, then self-service recovery to its end.
    let web = server.browser();
    web.submit(
        "/signin",
        "/signin",
        &[("login", "ola"), ("password", "another-long-passphrase-9")],
    );
    web.submit(
        "/signin/second-step",
        "/signin/second-step",
        &[("code", &phone.next_code())],
    )
    .assert_contains("Hello, ola");
    let tokens = authorise(&server, &web, &client_id, &phone.next_code());
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let b = server.browser();
    let password = "another-long-passphrase-9";
    let second = b.submit(
        "/signin",
        "/signin",
        &[("login", "ola"), ("password", password)],
    );
    second.assert_path("/signin/second-step");
    let page = b.get("/signin/recover");
    b.post_form("/signin/recover", &page.csrf(), &[]);
    let start = b.get(
        &server
            .mail
            .wait_for("ola@example.net", "Start recovering your account")
            .link("/recover/start"),
    );
    let t = field_value(&start.body, "token").unwrap();
    b.post_form("/recover/start", &start.csrf(), &[("token", &t)])
        .assert_contains("Recovery started");
    std::thread::sleep(std::time::Duration::from_secs(5));
    let page = b.get("/signin/recover");
    b.post_form("/signin/recover/finish", &page.csrf(), &[]);
    let finish = b.get(
        &server
            .mail
            .wait_for("ola@example.net", "Finish recovering your account")
            .link("/recover/finish"),
    );
    let t = field_value(&finish.body, "token").unwrap();
    b.post_form("/recover/finish", &finish.csrf(), &[("token", &t)])
        .assert_path("/account/two-step/setup");
    assert_eq!(bearer(&server, &access, "GET", "/api/v1/user"), 401);
}

/// Someone signs up with another person's address before they do: with the
/// address unconfirmed, no credential of any kind can be made.
#[test]
fn a_squatter_with_an_unconfirmed_address_makes_no_credential() {
    let server = Server::start();
    let (_owner_phone, _owner_api, app) = app_of_ola(&server, "ci-tool", REDIRECT);
    let client_id = app["client_id"].as_str().unwrap().to_string();
    let squatter = common::accounts::unconfirmed(&server, "vic", "victim@example.org");
    let (_, public) = common::ssh_keygen(server.data.path(), "squat_key");
    for (path, body) in [
        (
            "/user/ssh-keys",
            json!({"key": public, "password": PASSWORD}),
        ),
        (
            "/user/app-passwords",
            json!({"label": "x", "scopes": ["repository:read"], "password": PASSWORD}),
        ),
        (
            "/user/oauth-apps",
            json!({"name": "x", "redirect_uris": ["https://x.example/cb"], "confidential": false}),
        ),
    ] {
        squatter.err("POST", path, Some(body), 403, "email_unconfirmed");
    }
    // The consent page: refused when the form (with the password) is sent.
    let web = server.browser();
    web.submit(
        "/signin",
        "/signin",
        &[("login", "vic"), ("password", PASSWORD)],
    );
    let (page, fields) = consent_page(&server, &web, &client_id);
    let mut form: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    form.push(("password", PASSWORD));
    let refused = web.post_form_raw("/oauth/authorize", &page.csrf(), &form);
    assert_eq!(
        refused.refused.as_deref(),
        Some("email"),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("Confirm your email address first"));
}

/// No sequence of actions by one administrator reaches another
/// administrator's second factors.
#[test]
fn one_administrator_alone_never_resets_another() {
    let server = Server::start();
    let (alice, mut alice_phone, _) = two_step_user(&server, "alice");
    let (_dave, _, _) = two_step_user(&server, "dave");
    let (erin, mut erin_phone, _) = two_step_user(&server, "erin");
    let (mallory, mut mallory_phone, _) = two_step_user(&server, "mallory");
    for name in ["alice", "dave", "erin"] {
        cli_ok(&server, &["grant", name]);
    }
    std::thread::sleep(std::time::Duration::from_millis(1100));
    sudo(&alice, &mut alice_phone);

    // Revoking dave's right first needs a reason and tells every admin…
    alice.api.err(
        "POST",
        "/admin/users/dave/revoke-admin",
        Some(json!({})),
        422,
        "reason_required",
    );
    alice.api.ok(
        "POST",
        "/admin/users/dave/revoke-admin",
        Some(json!({"reason": "rotating duties"})),
    );
    server
        .mail
        .wait_for(&email("dave"), "You are no longer an administrator");
    let told = server
        .mail
        .wait_for(&email("erin"), "An administrator's rights were removed");
    assert!(told.raw.contains("rotating duties"), "{}", told.raw);
    // …and does not make him an ordinary account: the reset still waits.
    let (status, asked) = alice.api.call(
        "POST",
        "/admin/users/dave/two-step/reset",
        Some(json!({"reason": "he lost his phone"})),
    );
    assert_eq!(
        (status, asked["status"].as_str()),
        (202, Some("awaiting_approval")),
        "{asked}"
    );
    let id = asked["approval_id"].as_str().unwrap().to_string();

    // An account alice controls, made an administrator by her, cannot
    // approve: not right after the grant…
    alice.api.ok(
        "POST",
        "/admin/users/mallory/grant-admin",
        Some(json!({"reason": "helper"})),
    );
    sudo(&mallory, &mut mallory_phone);
    let refused = mallory.api.err(
        "POST",
        &format!("/admin/approvals/{id}/approve"),
        Some(json!({})),
        403,
        "forbidden",
    );
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("after this request was made"),
        "{refused}"
    );
    // …nor for a request made long after it.
    alice.api.ok(
        "POST",
        &format!("/admin/approvals/{id}/cancel"),
        Some(json!({})),
    );
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let asked = alice.api.ok(
        "POST",
        "/admin/users/dave/two-step/reset",
        Some(json!({"reason": "he lost his phone, again"})),
    );
    let id = asked["approval_id"].as_str().unwrap().to_string();
    let refused = mallory.api.err(
        "POST",
        &format!("/admin/approvals/{id}/approve"),
        Some(json!({})),
        403,
        "forbidden",
    );
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("comes from the one who asked"),
        "{refused}"
    );
    // A token alice imported cannot be given to an administrator by her.
    let file = server.data.path().join("tokens.pskc");
    std::fs::write(&file, crate::hardware_tokens::pskc_file(1)).unwrap();
    cli_ok(&server, &["import-tokens", file.to_str().unwrap()]);
    for target in ["dave", "erin"] {
        alice.api.err(
            "POST",
            "/admin/tokens/TS00000/assign",
            Some(json!({"username": target})),
            403,
            "forbidden",
        );
    }
    // A second administrator who held the right before, not from alice: yes.
    sudo(&erin, &mut erin_phone);
    erin.api.ok(
        "POST",
        &format!("/admin/approvals/{id}/approve"),
        Some(json!({})),
    );
    server.mail.wait_for(
        &email("dave"),
        "Two-step verification reset by an administrator",
    );
}

/// After the grace period, a workspace admin whose two-step is off reaches
/// nothing of the workspace: not its page, not the API (cookie or HTTP Basic
/// with the password), not its members, not its policy.
#[test]
fn a_workspace_admin_without_two_step_reaches_nothing_after_the_grace_period() {
    let server = Server::start();
    let olga = account(&server, "olga");
    let (mut olga_phone, _) = enable_two_step(&server, &olga);
    let pat = account(&server, "pat");
    olga.api
        .ok("POST", "/workspaces", Some(json!({"name": "acme"})));
    olga.api.ok(
        "POST",
        "/workspaces/acme/repositories",
        Some(json!({"name": "secret", "private": true})),
    );
    olga.api.ok(
        "POST",
        "/session/sudo",
        Some(json!({"code": olga_phone.next_code()})),
    );
    olga.api.ok(
        "POST",
        "/workspaces/acme/members",
        Some(json!({"username": "pat", "role": "admin"})),
    );
    olga.api.ok(
        "POST",
        "/workspaces/acme/two-step-policy",
        Some(json!({"require_two_step": true, "grace_seconds": 0})),
    );
    let basic = |method: &str, path: &str, body: Option<Value>| -> (u16, Value) {
        let http = reqwest::blocking::Client::new();
        let url = server.url(&format!("/api/v1{path}"));
        let req = match method {
            "GET" => http.get(url),
            _ => http.post(url).json(&body.unwrap_or(json!({}))),
        };
        let r = req.basic_auth("pat", Some(PASSWORD)).send().unwrap();
        let refused = r
            .headers()
            .get(REFUSED)
            .map(|v| v.to_str().unwrap().to_string());
        let status = r.status().as_u16();
        let mut v: Value = r.json().unwrap_or(Value::Null);
        v["refused_by"] = json!(refused);
        (status, v)
    };
    for (method, path, body) in [
        ("GET", "/workspaces/acme", None),
        (
            "POST",
            "/workspaces/acme/members",
            Some(json!({"username": "olga", "role": "read", "password": PASSWORD})),
        ),
        (
            "POST",
            "/workspaces/acme/two-step-policy",
            Some(json!({"require_two_step": false, "password": PASSWORD})),
        ),
        ("GET", "/repositories/acme/secret", None),
    ] {
        let (status, v) = basic(method, path, body);
        assert_eq!(status, 403, "{method} {path}: {v}");
        assert_eq!(v["refused_by"], "workspace", "{method} {path}: {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("The workspace acme requires two-step verification"),
            "{v}"
        );
    }
    // The same with pat's browser session.
    pat.api
        .err("GET", "/workspaces/acme", None, 403, "forbidden");
    // The policy is still on.
    let w = olga.api.ok("GET", "/workspaces/acme", None);
    assert_eq!(w["two_step_policy"]["state"], "enforced", "{w}");
}

/// RFC 6750 §3: a bad Bearer token is named as such; RFC 6749 §4.1.2: a code
/// used twice ends the tokens issued from it.
#[test]
fn a_bad_bearer_token_is_named_and_a_reused_code_ends_its_tokens() {
    let server = Server::start();
    let r = reqwest::blocking::Client::new()
        .get(server.url("/api/v1/user"))
        .bearer_auth("tsat_no-such-token")
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let challenge = r
        .headers()
        .get("www-authenticate")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    let body: Value = r.json().unwrap();
    assert_eq!(body["error"]["code"], "invalid_token");
    assert!(!body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("username or password"));

    let (mut phone, _api, app) = app_of_ola(&server, "ci-tool", REDIRECT);
    let client_id = app["client_id"].as_str().unwrap().to_string();
    let web = server.signed_in_browser("ola", &mut phone);
    let start = client(&[
        "start",
        &server.base,
        &client_id,
        REDIRECT,
        "repository:read",
    ]);
    let (page, fields) = {
        let page = web.get(start["url"].as_str().unwrap());
        let f: Vec<(String, String)> = [
            "response_type",
            "client_id",
            "redirect_uri",
            "scope",
            "state",
            "code_challenge",
            "code_challenge_method",
        ]
        .iter()
        .map(|n| {
            (
                n.to_string(),
                field_value(&page.body, n).unwrap_or_default(),
            )
        })
        .collect();
        (page, f)
    };
    let code = phone.next_code();
    let mut form: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    form.push(("code", &code));
    let back = web.post_form("/oauth/authorize", &page.csrf(), &form);
    let callback = common::refresh_target(&back.body);
    let verifier = start["verifier"].as_str().unwrap();
    let tokens = client(&[
        "token",
        &server.base,
        &client_id,
        REDIRECT,
        verifier,
        &callback,
    ]);
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(bearer(&server, access, "GET", "/api/v1/repositories"), 200);
    let again = Command::new("python3")
        .arg(
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../tests/e2e/oauth/client.py"),
        )
        .args([
            "token",
            &server.base,
            &client_id,
            REDIRECT,
            verifier,
            &callback,
        ])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("invalid_grant"),
        "{}{}",
        String::from_utf8_lossy(&again.stdout),
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(bearer(&server, access, "GET", "/api/v1/repositories"), 401);
}
