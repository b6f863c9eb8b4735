//! The web surface as an attacker probes it: redirects after sign-in stay on
//! this server, every answer carries the security headers, bad input gets a
//! clear 4xx in the shape of its surface (JSON or a page), Git's `service` is
//! read as git reads it, and the data folder is private.

use serde_json::json;

use crate::common;
use common::accounts::{account, PASSWORD};
use common::Server;

/// Signs rita in on the page with `next`, in a fresh client that does not
/// follow redirects.
fn sign_in_with_next(server: &Server, next: &str) -> reqwest::blocking::Response {
    let client = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
    let page = client.get(server.url("/signin")).send().unwrap();
    let csrf = common::field_value(&page.text().unwrap(), "csrf").unwrap();
    client
        .post(server.url("/signin"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("login", "rita"),
            ("password", PASSWORD),
            ("next", next),
        ])
        .send()
        .unwrap()
}

#[test]
fn sign_in_never_redirects_off_the_server() {
    let server = Server::start();
    account(&server, "rita");
    let variants = [
        "/\t/evil.example",
        "//evil.example",
        "/\\evil.example",
        "https://evil.example/",
        "/\r\nSet-Cookie: planted=1",
        "/ok\0",
        "/%09/evil.example",
    ];
    for next in variants {
        let r = sign_in_with_next(&server, next);
        if next.chars().any(char::is_control) {
            // Refused with a message, and no session is handed out.
            assert_eq!(r.status().as_u16(), 422, "next={next:?}");
            assert!(r.headers().get("set-cookie").is_none(), "next={next:?}");
            assert!(r.text().unwrap().contains("control characters"));
            continue;
        }
        assert_eq!(r.status().as_u16(), 303, "next={next:?}");
        let location = r.headers()["location"].to_str().unwrap().to_string();
        let landed = reqwest::Url::parse(&server.base)
            .unwrap()
            .join(&location)
            .unwrap();
        assert_eq!(
            landed.host_str(),
            Some("127.0.0.1"),
            "next={next:?} -> {location}"
        );
        assert!(
            !location.starts_with("//") && !location.contains('\t'),
            "next={next:?} -> {location}"
        );
        assert!(r.headers().get("set-cookie").is_some());
    }
    // A local target is kept.
    let r = sign_in_with_next(&server, "/account/ssh-keys");
    assert_eq!(r.headers()["location"], "/account/ssh-keys");
    // A control character in the address is refused before anything runs.
    let r = reqwest::blocking::get(server.url("/signin?next=/%0d%0a")).unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.headers().get("set-cookie").is_none());
}

#[test]
fn every_answer_carries_security_headers() {
    let server = Server::start();
    let rita = account(&server, "rita");
    let browser = server.browser();
    for path in [
        "/",
        "/signin",
        "/nope",
        "/api/v1/user",
        "/api/v1/openapi.json",
    ] {
        let r = browser.client.get(server.url(path)).send().unwrap();
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
    }
    let (_, ssh_keys) = rita.api.call("GET", "/user/ssh-keys", None);
    assert!(ssh_keys.is_array());
    let r = rita.api.client.get(server.url("/account")).send().unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let r = browser
        .client
        .get(server.url("/password/reset?token=abc"))
        .send()
        .unwrap();
    assert_eq!(r.headers()["referrer-policy"], "no-referrer");
    let css = browser
        .client
        .get(server.url("/static/style.css"))
        .send()
        .unwrap();
    assert!(css.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age"));
}

/// (status, content type, body) of a raw request.
fn raw(
    server: &Server,
    method: &str,
    path: &str,
    ct: Option<&str>,
    body: Vec<u8>,
) -> (u16, String, String) {
    let client = reqwest::blocking::Client::new();
    let mut req = client.request(method.parse().unwrap(), server.url(path));
    if let Some(ct) = ct {
        req = req.header("content-type", ct);
    }
    let r = req.body(body).send().unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ct, r.text().unwrap())
}

#[test]
fn bad_input_gets_a_clear_4xx_in_the_shape_of_its_surface() {
    let server = Server::start();
    let json_error = |(status, ct, body): (u16, String, String), want: u16| {
        assert_eq!(status, want, "{body}");
        assert!(ct.starts_with("application/json"), "{ct}: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{body}"
        );
        v["error"]["code"].as_str().unwrap().to_string()
    };
    let page_error = |(status, ct, body): (u16, String, String), want: u16| {
        assert_eq!(status, want, "{body}");
        assert!(ct.starts_with("text/html"), "{ct}: {body}");
        assert!(body.contains("<h1>"), "{body}");
    };
    let j = Some("application/json");
    json_error(raw(&server, "GET", "/api/v1/nope", None, vec![]), 404);
    json_error(raw(&server, "DELETE", "/api/v1/users", None, vec![]), 405);
    json_error(
        raw(&server, "POST", "/api/v1/users", j, b"[1,2]".to_vec()),
        422,
    );
    json_error(raw(&server, "POST", "/api/v1/users", j, b"{".to_vec()), 400);
    json_error(
        raw(&server, "POST", "/api/v1/users", None, b"{}".to_vec()),
        415,
    );
    let code = json_error(
        raw(
            &server,
            "POST",
            "/api/v1/users",
            j,
            br#"{"username":"nul\u0000l","email":"a@example.org","password":"x"}"#.to_vec(),
        ),
        422,
    );
    assert_eq!(code, "control_characters");
    json_error(
        raw(&server, "POST", "/api/v1/users", j, vec![b' '; 1024 * 1024]),
        413,
    );
    json_error(
        raw(&server, "GET", "/api/v1/repositories/a%00/b", None, vec![]),
        400,
    );
    page_error(raw(&server, "GET", "/no/such/page", None, vec![]), 404);
    page_error(raw(&server, "DELETE", "/signin", None, vec![]), 405);
    page_error(
        raw(
            &server,
            "POST",
            "/signup",
            Some("application/x-www-form-urlencoded"),
            vec![b'a'; 1024 * 1024],
        ),
        413,
    );
    // An address the mailer cannot write to is refused at sign-up.
    let api = common::api::ApiClient::new(&server);
    api.err(
        "POST",
        "/users",
        Some(json!({"username": "dora", "email": "dora..x@example.org", "password": PASSWORD})),
        422,
        "invalid_email",
    );
}

#[test]
fn git_service_is_decided_as_git_reads_it() {
    let server = Server::start();
    let rita = account(&server, "rita");
    rita.api
        .ok("POST", "/repositories", Some(json!({"name": "notes"})));
    let created = rita.api.ok(
        "POST",
        "/user/app-passwords",
        Some(json!({"label": "ci", "scopes": ["repository:read"]})),
    );
    let token = created["password"].as_str().unwrap();
    let client = reqwest::blocking::Client::new();
    let get = |query: &str| {
        let r = client
            .get(server.url(&format!("/rita/notes.git/info/refs?{query}")))
            .basic_auth("rita", Some(token))
            .send()
            .unwrap();
        (r.status().as_u16(), r.text().unwrap())
    };
    assert_eq!(get("service=git-upload-pack").0, 200);
    for sneaky in [
        "service=git-receive%2Dpack",
        "service=git%2dreceive-pack",
        "service=git-receive-pack",
    ] {
        let (status, body) = get(sneaky);
        assert_eq!(status, 403, "{sneaky}: {body}");
        assert!(body.contains("repository:write"), "{sneaky}: {body}");
    }
    let (status, body) = get("service=git-upload-pack&service=git-receive-pack");
    assert_eq!(status, 403, "{body}");
    let (status, body) = get("");
    assert_eq!(status, 403, "{body}");
}

#[cfg(unix)]
#[test]
fn the_data_folder_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let server = Server::start();
    account(&server, "rita");
    let data = server.data_dir();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    let mut checked = 0;
    for name in ["twostep.db", "secret.key", "ssh_host_ed25519_key", "outbox"] {
        let p = data.join(name);
        let m = mode(&p);
        assert_eq!(m & 0o077, 0, "{name} is {m:o}");
        checked += 1;
    }
    for e in std::fs::read_dir(data.join("outbox")).unwrap() {
        let p = e.unwrap().path();
        assert_eq!(mode(&p), 0o600, "{}", p.display());
        checked += 1;
    }
    assert!(checked > 4);
    assert!(!server.log_text().contains("readable by other users"));
}

#[test]
fn a_form_token_works_only_with_the_session_it_was_made_for() {
    let server = Server::start();
    account(&server, "rita");
    // The victim signs in in her browser.
    let victim = server.browser();
    victim
        .submit(
            "/signin",
            "/signin",
            &[("login", "rita"), ("password", PASSWORD)],
        )
        .assert_path("/");
    let genuine = victim.get("/account").csrf();
    // The attacker's own anonymous cookie and token, planted in her browser.
    let attacker = server.browser();
    let planted = attacker.get("/signin").csrf();
    let seed = attacker.cookie("twostep_csrf").unwrap();
    victim.plant_cookie("twostep_csrf", &seed);
    let r = victim.post_form("/signout", &planted, &[]);
    assert_eq!(r.status, 403, "{}", r.body);
    r.assert_contains("came from another site");
    victim.get("/account").assert_path("/account");
    // A write another site's page sends is refused by its Origin.
    let r = victim
        .client
        .post(server.url("/signout"))
        .header("origin", "https://evil.example")
        .form(&[("csrf", genuine.as_str())])
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert!(r.text().unwrap().contains("another site"));
    victim.get("/account").assert_path("/account");
    // The genuine token of this session still signs out.
    victim
        .post_form("/signout", &genuine, &[])
        .assert_path("/signin");
}

/// A user or workspace named like one of the server's own addresses would
/// break its Git over HTTPS (`/NAME/REPO.git` shares the root): every first
/// part of a route, taken from the routes as declared, is refused as a name.
#[test]
fn no_account_or_workspace_takes_the_name_of_a_route() {
    let server = Server::start();
    let owner = common::accounts::account(&server, "wendy");
    let names = twostep_web::reserved_names();
    for expected in [
        "workspaces",
        "oauth",
        "signin",
        "account",
        "api",
        "admin",
        "static",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    let anon = common::api::ApiClient::new(&server);
    for name in &names {
        let shaped = name.len() >= 2 && name.chars().all(|c| c.is_ascii_lowercase() || c == '-');
        let (status, v) = anon.call(
            "POST",
            "/users",
            Some(serde_json::json!({"username": name, "email": format!("{name}@example.org"), "password": common::accounts::PASSWORD})),
        );
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (422, Some("invalid_username")),
            "{name}: {v}"
        );
        let (status, v) = owner.api.call(
            "POST",
            "/workspaces",
            Some(serde_json::json!({"name": name})),
        );
        assert_eq!(status, 422, "{name}: {v}");
        if shaped {
            assert!(
                v["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("is reserved"),
                "{name}: {v}"
            );
        }
    }
}
