//! twostep as an OAuth 2.0 provider, driven by a real client library
//! (authlib, PyPI; tests/e2e/oauth/client.py): a public client with PKCE
//! gets a code through the consent page of a fully signed-in user, then
//! tokens; the access token works on the API and for Git over HTTPS as
//! `x-token-auth`, never for a security change; refresh tokens rotate, and
//! reusing an old one revokes the whole grant; revocation ends it too.

use std::process::Command;

use serde_json::{json, Value};

use crate::common;

use common::accounts::{account, enable_two_step, fresh_session, PASSWORD};
use common::{field_value, Browser, Server};

pub(crate) const REDIRECT: &str = "http://127.0.0.1:9/callback";

pub(crate) fn client(args: &[&str]) -> Value {
    let script = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/e2e/oauth/client.py");
    let out = Command::new("python3")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "client.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// authlib starts; the signed-in user approves on the consent page; authlib
/// trades the code for tokens.
/// `code`: the fresh proof a grant needs (the session is not in sudo mode).
pub(crate) fn authorise(server: &Server, web: &Browser, client_id: &str, code: &str) -> Value {
    let start = client(&[
        "start",
        &server.base,
        client_id,
        REDIRECT,
        "repository:read account:read",
    ]);
    let url = start["url"].as_str().unwrap();
    let consent = web.get(url);
    consent.assert_contains("Authorise ci-tool?");
    consent.assert_contains("repository:read");
    let field = |n: &str| field_value(&consent.body, n).unwrap_or_default();
    let names = [
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
    ];
    let values: Vec<String> = names.iter().map(|n| field(n)).collect();
    let mut fields: Vec<(&str, &str)> = names
        .iter()
        .copied()
        .zip(values.iter().map(String::as_str))
        .collect();
    fields.push(("code", code));
    let back = web.post_form("/oauth/authorize", &consent.csrf(), &fields);
    let callback = common::refresh_target(&back.body);
    assert!(callback.starts_with(REDIRECT), "{callback}");
    let tokens = client(&[
        "token",
        &server.base,
        client_id,
        REDIRECT,
        start["verifier"].as_str().unwrap(),
        &callback,
    ]);
    assert_eq!(tokens["token_type"], "Bearer", "{tokens}");
    tokens
}

pub(crate) fn bearer(server: &Server, token: &str, method: &str, path: &str) -> u16 {
    let http = reqwest::blocking::Client::new();
    let req = match method {
        "GET" => http.get(server.url(path)),
        _ => http
            .post(server.url(path))
            .json(&json!({"label": "x", "scopes": ["repository:read"]})),
    };
    req.bearer_auth(token).send().unwrap().status().as_u16()
}

/// ola, with two-step on, a repository `tools` and a public application.
pub(crate) fn owner_with_app(
    name: &str,
    redirect: &str,
) -> (Server, common::otp::Phone, common::api::ApiClient, Value) {
    let server = Server::start();
    let (phone, api, app) = app_of_ola(&server, name, redirect);
    (server, phone, api, app)
}

/// ola on `server`, two-step on, with a repository `tools` and an application.
pub(crate) fn app_of_ola(
    server: &Server,
    name: &str,
    redirect: &str,
) -> (common::otp::Phone, common::api::ApiClient, Value) {
    let ola = account(server, "ola");
    let (mut phone, _) = enable_two_step(server, &ola);
    let api = fresh_session(server, "ola", &mut phone);
    let app = api.ok(
        "POST",
        "/user/oauth-apps",
        Some(json!({"name": name, "redirect_uris": [redirect], "confidential": false})),
    );
    api.ok(
        "POST",
        "/repositories",
        Some(json!({"name": "tools", "description": "", "private": true})),
    );
    (phone, api, app)
}

#[test]
fn authlib_gets_tokens_with_pkce_refreshes_with_rotation_and_revokes() {
    let (server, mut phone, api, app) = owner_with_app("ci-tool", REDIRECT);
    let client_id = app["client_id"].as_str().unwrap().to_string();
    assert!(client_id.starts_with("tsoa_"));
    assert!(app["client_secret"].is_null());
    let meta: Value = reqwest::blocking::get(server.url("/.well-known/oauth-authorization-server"))
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));

    // Consent needs a full sign-in: with the password alone, no consent page.
    let half = server.browser();
    half.submit(
        "/signin",
        "/signin",
        &[("login", "ola"), ("password", PASSWORD)],
    );
    let start = client(&[
        "start",
        &server.base,
        &client_id,
        REDIRECT,
        "repository:read",
    ]);
    let page = half.get(start["url"].as_str().unwrap());
    assert!(!page.body.contains("Authorise ci-tool?"), "{}", page.body);

    let web = server.signed_in_browser("ola", &mut phone);
    let first = authorise(&server, &web, &client_id, &phone.next_code());
    let access = first["access_token"].as_str().unwrap().to_string();
    assert!(access.starts_with("tsat_"));

    // Where an app password works: the API, and Git over HTTPS.
    assert_eq!(bearer(&server, &access, "GET", "/api/v1/user"), 200);
    assert_eq!(
        bearer(&server, "tsat_not-a-token", "GET", "/api/v1/user"),
        401
    );
    // Never a security change.
    assert_eq!(
        bearer(&server, &access, "POST", "/api/v1/user/app-passwords"),
        403
    );
    let url = server
        .base
        .replace("http://", &format!("http://x-token-auth:{access}@"))
        + "/ola/tools.git";
    let ls = Command::new("git")
        .args(["ls-remote", &url])
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    assert!(
        ls.status.success(),
        "{}",
        String::from_utf8_lossy(&ls.stderr)
    );
    let listed = api.ok("GET", "/user/authorized-apps", None);
    assert_eq!(listed[0]["name"], "ci-tool", "{listed}");
    web.get("/account/applications").assert_contains("ci-tool");

    // Rotation: each refresh gives a new pair; the old refresh token used
    // again revokes the grant, the new tokens with it.
    let r1 = first["refresh_token"].as_str().unwrap().to_string();
    let second = client(&["refresh", &server.base, &client_id, &r1]);
    let r2 = second["refresh_token"].as_str().unwrap().to_string();
    let a2 = second["access_token"].as_str().unwrap().to_string();
    assert_ne!(r1, r2);
    assert_eq!(bearer(&server, &a2, "GET", "/api/v1/user"), 200);
    let reused = client(&["refresh", &server.base, &client_id, &r1]);
    assert_eq!(reused["error"], "invalid_grant", "{reused}");
    assert_eq!(bearer(&server, &a2, "GET", "/api/v1/user"), 401);
    let after = client(&["refresh", &server.base, &client_id, &r2]);
    assert_eq!(after["error"], "invalid_grant", "{after}");
    server
        .mail
        .wait_for("ola@example.net", "An application's access was revoked");
    assert!(api
        .ok("GET", "/user/authorized-apps", None)
        .as_array()
        .unwrap()
        .is_empty());

    // Revocation (RFC 7009) of a refresh token ends its grant.
    let third = authorise(&server, &web, &client_id, &phone.next_code());
    let a3 = third["access_token"].as_str().unwrap().to_string();
    assert_eq!(bearer(&server, &a3, "GET", "/api/v1/user"), 200);
    let revoked = client(&[
        "revoke",
        &server.base,
        &client_id,
        third["refresh_token"].as_str().unwrap(),
    ]);
    assert_eq!(revoked["status"], 200, "{revoked}");
    assert_eq!(bearer(&server, &a3, "GET", "/api/v1/user"), 401);
    let log = api.ok("GET", "/user/security-log", None).to_string();
    assert!(
        log.contains("oauth.refresh_reused") && log.contains("oauth.app_revoked"),
        "{log}"
    );
}

#[test]
fn a_command_line_tool_gets_tokens_by_the_device_flow() {
    let (server, mut phone, _api, app) = owner_with_app("ci-tool", REDIRECT);
    let client_id = app["client_id"].as_str().unwrap().to_string();

    let start = client(&[
        "device",
        &server.base,
        &client_id,
        "repository:read account:read",
    ]);
    let device_code = start["device_code"]
        .as_str()
        .unwrap_or_else(|| panic!("{start}"))
        .to_string();
    let user_code = start["user_code"].as_str().unwrap().to_string();
    assert!(
        start["verification_uri"]
            .as_str()
            .unwrap()
            .ends_with("/oauth/device"),
        "{start}"
    );
    let pending = client(&["poll", &server.base, &client_id, &device_code]);
    assert_eq!(pending["error"], "authorization_pending", "{pending}");
    let hasty = client(&["poll", &server.base, &client_id, &device_code]);
    assert_eq!(hasty["error"], "slow_down", "{hasty}");

    // The user types the code (lower case, with a space) and approves.
    let web = server.signed_in_browser("ola", &mut phone);
    let typed = user_code.to_lowercase().replace('-', " ");
    let consent = web.get(&format!(
        "/oauth/device?user_code={}",
        typed.replace(' ', "+")
    ));
    consent.assert_contains("Authorise ci-tool");
    consent.assert_contains(&user_code);
    web.post_form(
        "/oauth/device",
        &consent.csrf(),
        &[("user_code", &user_code), ("code", &phone.next_code())],
    )
    .assert_contains("Device authorised");

    // The tool keeps to the interval, then gets its tokens, once.
    std::thread::sleep(std::time::Duration::from_secs(6));
    let tokens = client(&["poll", &server.base, &client_id, &device_code]);
    let access = tokens["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{tokens}"))
        .to_string();
    let again = client(&["poll", &server.base, &client_id, &device_code]);
    assert_eq!(again["error"], "invalid_grant", "{again}");
    assert_eq!(bearer(&server, &access, "GET", "/api/v1/user"), 200);
    let clone_dir = server.data.path().join("tools");
    let url = server
        .base
        .replace("http://", &format!("http://oauth2:{access}@"))
        + "/ola/tools.git";
    let cloned = Command::new("git")
        .args(["clone", "-q", &url, clone_dir.to_str().unwrap()])
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    assert!(
        cloned.status.success(),
        "{}",
        String::from_utf8_lossy(&cloned.stderr)
    );

    // Introspection tells the client what its token is, until it is revoked.
    let seen = client(&["introspect", &server.base, &client_id, &access]);
    assert_eq!(seen["active"], true, "{seen}");
    assert_eq!(seen["username"], "ola", "{seen}");
    assert_eq!(seen["scope"], "repository:read account:read", "{seen}");
    client(&[
        "revoke",
        &server.base,
        &client_id,
        tokens["refresh_token"].as_str().unwrap(),
    ]);
    let gone = client(&["introspect", &server.base, &client_id, &access]);
    assert_eq!(gone["active"], false, "{gone}");
}

/// Debian's `git-credential-oauth`, pointed at this server by git config:
/// it prints the authorization URL, Chromium (signed in) approves, the
/// helper's loopback listener gets the code (any port: RFC 8252), and git
/// goes on with the token.
#[test]
fn git_credential_oauth_clones_over_https_after_consent_in_chromium() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let (server, mut phone, api, app) = owner_with_app("git-credential-oauth", "http://127.0.0.1/");
    let client_id = app["client_id"].as_str().unwrap().to_string();

    let web = common::browser::Chromium::start("git-credential-oauth");
    web.goto(&server.url("/signin"));
    web.type_into("#login", "ola");
    web.type_into("#password", PASSWORD);
    web.click("form[action='/signin'] button");
    web.wait_for_text("Enter the 6-digit code");
    web.type_into("#code", &phone.next_code());
    web.click("form[action='/signin/second-step'] button");
    web.wait_for_text("Hello, ola");

    let home = server.data.path().join("home-oauth");
    std::fs::create_dir_all(&home).unwrap();
    let git = |args: &[&str]| {
        let mut c = Command::new("git");
        c.args(args)
            .env("HOME", &home)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("BROWSER", "true");
        c
    };
    let key = |k: &str| format!("credential.{}.{k}", server.base);
    for (k, v) in [
        ("credential.helper".to_string(), "oauth".to_string()),
        (key("oauthClientId"), client_id.clone()),
        (key("oauthAuthURL"), "/oauth/authorize".into()),
        (key("oauthTokenURL"), "/oauth/token".into()),
        (key("oauthScopes"), "repository:read".into()),
    ] {
        assert!(git(&["config", "--global", &k, &v])
            .status()
            .unwrap()
            .success());
    }
    let copy = server.data.path().join("tools");
    let mut clone = git(&[
        "clone",
        &server.url("/ola/tools.git"),
        copy.to_str().unwrap(),
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .expect("git runs");
    let mut err = BufReader::new(clone.stderr.take().unwrap());
    let mut said = String::new();
    let url = loop {
        let mut line = String::new();
        assert!(
            err.read_line(&mut line).unwrap() > 0,
            "no authorization URL: {said}"
        );
        said.push_str(&line);
        if let Some(at) = line.find(&format!("{}/oauth/authorize", server.base)) {
            break line[at..].trim().to_string();
        }
    };
    web.goto(&url);
    web.wait_for_text("Authorise git-credential-oauth?");
    web.screenshot("consent");
    web.type_into("#confirm-code", &phone.next_code());
    web.click("#approve");
    let status = clone.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    assert!(status.success(), "{said}{rest}\n{}", server.log_text());
    assert!(copy.join(".git").is_dir());
    let listed = api.ok("GET", "/user/authorized-apps", None);
    assert_eq!(listed[0]["name"], "git-credential-oauth", "{listed}");

    // The owner takes its access away on the Applications page.
    web.goto(&server.url("/account/applications"));
    web.wait_for_text("git-credential-oauth");
    web.screenshot("applications");
    web.click("#authorized-apps button.danger");
    web.wait_for_text("Application revoked");
    assert!(api
        .ok("GET", "/user/authorized-apps", None)
        .as_array()
        .unwrap()
        .is_empty());
}
