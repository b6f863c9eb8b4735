//! The two-step lifecycle through the JSON API, shared by the SQLite and PostgreSQL runs.

use serde_json::{json, Value};

use super::otp::{scan_qr, Phone};
use super::{ssh_keygen, Server};

pub struct ApiClient {
    pub client: reqwest::blocking::Client,
    jar: std::sync::Arc<reqwest::cookie::Jar>,
    base: String,
}

impl ApiClient {
    pub fn new(server: &Server) -> ApiClient {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        ApiClient {
            client: server
                .client_builder()
                .cookie_provider(jar.clone())
                .build()
                .unwrap(),
            jar,
            base: server.url("/api/v1"),
        }
    }

    /// A client of `base` (http://HOST:PORT) whose connections leave from
    /// `local` (any 127.x.y.z on loopback), as if from another machine.
    pub fn from_address(base: &str, local: std::net::IpAddr) -> ApiClient {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        ApiClient {
            client: reqwest::blocking::Client::builder()
                .cookie_provider(jar.clone())
                .local_address(local)
                .build()
                .unwrap(),
            jar,
            base: format!("{base}/api/v1"),
        }
    }

    /// The same client (cookies and all) talking to another node.
    pub fn on(&self, server: &Server) -> ApiClient {
        ApiClient {
            client: self.client.clone(),
            jar: self.jar.clone(),
            base: server.url("/api/v1"),
        }
    }

    /// The value of a cookie the client holds for the server.
    pub fn cookie(&self, name: &str) -> Option<String> {
        super::cookie_in(&self.jar, &self.base, name)
    }

    /// The full address of an API path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}{}", self.base, path);
        let mut req = match method {
            "GET" => self.client.get(url),
            "POST" => self.client.post(url),
            "DELETE" => self.client.delete(url),
            "PUT" => self.client.put(url),
            _ => unreachable!(),
        };
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().unwrap();
        let status = r.status().as_u16();
        let text = r.text().unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
        };
        (status, value)
    }

    pub fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, v) = self.call(method, path, body);
        assert!(
            (200..300).contains(&status),
            "{method} {path} → {status}: {v}"
        );
        v
    }

    pub fn err(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        want_status: u16,
        want_code: &str,
    ) -> Value {
        let (status, v) = self.call(method, path, body);
        assert_eq!(
            (status, v["error"]["code"].as_str().unwrap_or("")),
            (want_status, want_code),
            "{method} {path}: {v}"
        );
        assert!(!v["error"]["message"].as_str().unwrap().is_empty());
        v
    }
}

fn token_of(link: &str) -> String {
    link.split("token=").nth(1).unwrap().to_string()
}

pub fn two_step_journey(server: &Server, name: &str) {
    let api = ApiClient::new(server);
    let email = format!("{name}@example.org");
    let password = "api-journey-passphrase-7";

    let doc = api.ok("GET", "/openapi.json", None);
    for path in [
        "/api/v1/users",
        "/api/v1/session/second-step",
        "/api/v1/user/two-step/setup",
        "/api/v1/user/two-step/disable",
        "/api/v1/user/ssh-keys",
    ] {
        assert!(doc["paths"][path].is_object(), "OpenAPI lacks {path}");
    }

    // Bad input: clear JSON errors, never a 500.
    api.err(
        "POST",
        "/users",
        Some(json!({"username": name, "email": email, "password": "short"})),
        422,
        "weak_password",
    );
    api.err(
        "POST",
        "/users",
        Some(json!({"username": "../x", "email": email, "password": password})),
        422,
        "invalid_username",
    );
    api.err(
        "POST",
        "/users",
        Some(json!({"username": name})),
        422,
        "bad_request",
    );
    let r = reqwest::blocking::Client::new()
        .post(server.url("/api/v1/users"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(r.json::<Value>().unwrap()["error"]["code"], "bad_request");
    let r = reqwest::blocking::Client::new()
        .post(server.url("/api/v1/users"))
        .header("content-type", "application/json")
        .body(vec![b' '; 200_000])
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    api.err("GET", "/no/such/thing", None, 404, "not_found");
    api.err("GET", "/user", None, 401, "sign_in_required");

    let started = api.ok(
        "POST",
        "/users",
        Some(json!({"username": name, "email": email, "password": password})),
    );
    assert_eq!(started["status"], "confirmation_sent");
    let link = server
        .mail
        .wait_for(&email, "Confirm your email address")
        .link("/confirm-email");
    // The link makes the account with the password chosen at sign-up.
    api.err(
        "POST",
        "/users/confirm-email",
        Some(json!({"token": token_of(&link)})),
        422,
        "password_required",
    );
    api.err(
        "POST",
        "/users/confirm-email",
        Some(json!({"token": token_of(&link), "password": "not-the-one-chosen"})),
        422,
        "wrong_password",
    );
    let user = api.ok(
        "POST",
        "/users/confirm-email",
        Some(json!({"token": token_of(&link), "password": password})),
    );
    assert_eq!(user["username"], name);
    assert_eq!(user["email_confirmed"], true);
    api.err(
        "POST",
        "/users",
        Some(json!({"username": name, "email": "other@example.org", "password": password})),
        422,
        "username_taken",
    );
    api.err(
        "POST",
        "/users/confirm-email",
        Some(json!({"token": token_of(&link), "password": password})),
        410,
        "link_invalid",
    );

    api.err(
        "POST",
        "/session",
        Some(json!({"login": name, "password": "wrong-password-x"})),
        401,
        "bad_credentials",
    );
    assert_eq!(
        api.ok(
            "POST",
            "/session",
            Some(json!({"login": name, "password": password}))
        )["status"],
        "signed_in"
    );
    let st = api.ok("GET", "/user/two-step", None);
    assert_eq!(
        (
            st["enabled"].as_bool(),
            st["checklist"]["email_confirmed"].as_bool(),
            st["checklist"]["ready"].as_bool()
        ),
        (Some(false), Some(true), Some(false))
    );
    api.err("POST", "/user/two-step/setup", None, 403, "forbidden");

    let (_, public) = ssh_keygen(server.data.path(), &format!("{name}_api_key"));
    let key = api.ok(
        "POST",
        "/user/ssh-keys",
        Some(json!({"title": "ci", "key": public, "password": password})),
    );
    assert!(key["fingerprint"].as_str().unwrap().starts_with("SHA256:"));
    api.err(
        "POST",
        "/user/ssh-keys",
        Some(json!({"key": public})),
        422,
        "duplicate_ssh_key",
    );
    api.err(
        "POST",
        "/user/ssh-keys",
        Some(json!({"key": "ssh-dss AAAAB3NzaC1kc3M="})),
        422,
        "invalid_ssh_key",
    );
    assert_eq!(
        api.ok("GET", "/user/ssh-keys", None)
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let setup = api.ok("POST", "/user/two-step/setup", None);
    let svg = server.data.path().join(format!("{name}-api-qr.svg"));
    std::fs::write(&svg, setup["qr_svg"].as_str().unwrap()).unwrap();
    let uri = scan_qr(&svg);
    assert_eq!(uri, setup["otpauth_uri"].as_str().unwrap());
    assert_eq!(
        setup["key"].as_str().unwrap().replace(' ', ""),
        super::otp::secret_of(&uri)
    );
    let mut phone = Phone::new(&uri);
    api.err(
        "POST",
        "/user/two-step/setup/verify",
        Some(json!({"code": "12345"})),
        422,
        "malformed_code",
    );
    assert_eq!(
        api.ok(
            "POST",
            "/user/two-step/setup/verify",
            Some(json!({"code": phone.next_code()}))
        )["status"],
        "confirmation_mail_sent"
    );
    let link = server
        .mail
        .wait_for(&email, "Confirm turning on two-step verification")
        .link("/account/two-step/confirm");
    let codes = api.ok(
        "POST",
        "/user/two-step/confirm",
        Some(json!({"token": token_of(&link)})),
    );
    let codes = strings(&codes["recovery_codes"]);
    assert_eq!(codes.len(), 6);
    let st = api.ok("GET", "/user/two-step", None);
    assert_eq!(
        (
            st["enabled"].as_bool(),
            st["recovery_codes_remaining"].as_i64()
        ),
        (Some(true), Some(6))
    );

    // Sign in again: the password alone is not enough any more.
    api.ok("DELETE", "/session", None);
    let r = api.ok(
        "POST",
        "/session",
        Some(json!({"login": email, "password": password})),
    );
    assert_eq!(r["status"], "second_step_required");
    assert!(r["methods"].as_array().unwrap().contains(&json!("totp")));
    api.err("GET", "/user", None, 401, "sign_in_required");
    let code = phone.next_code();
    assert_eq!(
        api.ok("POST", "/session/second-step", Some(json!({"code": code})))["status"],
        "signed_in"
    );
    assert_eq!(api.ok("GET", "/user", None)["two_step_enabled"], true);

    // A replayed code is refused; a recovery code works once.
    api.ok("DELETE", "/session", None);
    api.ok(
        "POST",
        "/session",
        Some(json!({"login": name, "password": password})),
    );
    api.err(
        "POST",
        "/session/second-step",
        Some(json!({"code": code})),
        422,
        "code_used",
    );
    api.ok(
        "POST",
        "/session/second-step",
        Some(json!({"code": codes[0]})),
    );
    api.ok("DELETE", "/session", None);
    api.ok(
        "POST",
        "/session",
        Some(json!({"login": name, "password": password})),
    );
    // A used recovery code is refused, counted (checking it costs a hash)
    // and raises an alarm.
    api.err(
        "POST",
        "/session/second-step",
        Some(json!({"code": codes[0]})),
        401,
        "wrong_code",
    );
    api.ok(
        "POST",
        "/session/second-step",
        Some(json!({"code": phone.next_code()})),
    );

    // Regenerate (fresh factor), replace the device, disable.
    api.err(
        "POST",
        "/user/two-step/recovery-codes",
        Some(json!({"code": "999999"})),
        401,
        "wrong_code",
    );
    let fresh = api.ok(
        "POST",
        "/user/two-step/recovery-codes",
        Some(json!({"code": codes[1]})),
    );
    let fresh = strings(&fresh["recovery_codes"]);
    assert_eq!(fresh.len(), 6);
    api.err(
        "POST",
        "/user/two-step/disable",
        Some(json!({"code": codes[2]})),
        401,
        "wrong_code",
    );
    let new_setup = api.ok(
        "POST",
        "/user/two-step/replace",
        Some(json!({"code": phone.next_code()})),
    );
    assert_eq!(new_setup["replacing"], true);
    let mut new_phone = Phone::new(new_setup["otpauth_uri"].as_str().unwrap());
    assert_eq!(
        api.ok(
            "POST",
            "/user/two-step/setup/verify",
            Some(json!({"code": new_phone.next_code()}))
        )["status"],
        "replaced"
    );
    assert_eq!(
        api.ok(
            "POST",
            "/user/two-step/disable",
            Some(json!({"code": fresh[0]}))
        )["status"],
        "disabled"
    );
    let st = api.ok("GET", "/user/two-step", None);
    assert_eq!(
        (
            st["enabled"].as_bool(),
            st["recovery_codes_remaining"].as_i64()
        ),
        (Some(false), Some(0))
    );

    let log = api.ok("GET", "/user/security-log", None);
    let events: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    for e in [
        "account.created",
        "two_step.enabled",
        "recovery_code.used",
        "recovery_codes.regenerated",
        "two_step.device_replaced",
        "two_step.disabled",
        "second_factor.failed",
    ] {
        assert!(events.contains(&e), "{e} missing from {events:?}");
    }
    assert!(log
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["channel"] == "api"));
    server.mail.wait_for(&email, "Two-step verification is off");
}

/// A JSON array of strings.
pub fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|c| c.as_str().expect("a string").to_string())
        .collect()
}
