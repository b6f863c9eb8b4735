//! Accounts made through the API, for tests about Git and SSH.

use std::path::PathBuf;

use serde_json::json;

use super::api::ApiClient;
use super::otp::{scan_qr, Phone};
use super::{ssh_keygen, Server};

pub const PASSWORD: &str = "violet-harbour-2931";

pub struct Account {
    pub name: String,
    pub api: ApiClient,
    pub key: PathBuf,
}

/// Signs up, confirms the email, signs in and registers a new SSH key.
pub fn account(server: &Server, name: &str) -> Account {
    let api = ApiClient::new(server);
    let email = format!("{name}@example.net");
    api.ok(
        "POST",
        "/users",
        Some(json!({"username": name, "email": email, "password": PASSWORD})),
    );
    let link = server
        .mail
        .wait_for(&email, "Confirm your email address")
        .link("/confirm-email");
    api.ok(
        "POST",
        "/users/confirm-email",
        Some(json!({"token": link.split("token=").nth(1).unwrap(), "password": PASSWORD})),
    );
    api.ok(
        "POST",
        "/session",
        Some(json!({"login": name, "password": PASSWORD})),
    );
    let (key, public) = ssh_keygen(server.data.path(), &format!("{name}_id"));
    api.ok(
        "POST",
        "/user/ssh-keys",
        Some(json!({"key": public, "password": PASSWORD})),
    );
    Account {
        name: name.to_string(),
        api,
        key,
    }
}

/// Turns two-step verification on; returns the phone and the recovery codes.
pub fn enable_two_step(server: &Server, a: &Account) -> (Phone, Vec<String>) {
    let setup = a.api.ok("POST", "/user/two-step/setup", None);
    let svg = server.data.path().join(format!("{}-qr.svg", a.name));
    std::fs::write(&svg, setup["qr_svg"].as_str().unwrap()).unwrap();
    let mut phone = Phone::new(&scan_qr(&svg));
    a.api.ok(
        "POST",
        "/user/two-step/setup/verify",
        Some(json!({"code": phone.next_code()})),
    );
    let email = format!("{}@example.net", a.name);
    let link = server
        .mail
        .wait_for(&email, "Confirm turning on")
        .link("/account/two-step/confirm");
    let codes = a.api.ok(
        "POST",
        "/user/two-step/confirm",
        Some(json!({"token": link.split("token=").nth(1).unwrap(), "password": PASSWORD})),
    );
    (phone, super::api::strings(&codes["recovery_codes"]))
}

/// A new API session of `name` signed in with password and a code a moment
/// ago (no sudo window yet), as a thief who copied its cookie would hold it.
pub fn fresh_session(server: &Server, name: &str, phone: &mut Phone) -> ApiClient {
    let api = ApiClient::new(server);
    api.ok(
        "POST",
        "/session",
        Some(json!({"login": name, "password": PASSWORD})),
    );
    api.ok(
        "POST",
        "/session/second-step",
        Some(json!({"code": phone.next_code()})),
    );
    api
}

/// Password, then the second step with `code`: the API's answer to the second.
pub fn second_step(server: &Server, name: &str, code: &str) -> (u16, serde_json::Value) {
    let api = ApiClient::new(server);
    api.ok(
        "POST",
        "/session",
        Some(json!({"login": name, "password": PASSWORD})),
    );
    api.call("POST", "/session/second-step", Some(json!({"code": code})))
}

/// An account whose address is not confirmed, signed in (two-step off): as
/// an earlier version left a sign-up whose link was never opened (accounts
/// are now made only when it is). Its sign-up is finished, then the
/// confirmation is taken back in the database.
pub fn unconfirmed(server: &Server, name: &str, email: &str) -> ApiClient {
    let api = ApiClient::new(server);
    api.ok(
        "POST",
        "/users",
        Some(json!({"username": name, "email": email, "password": PASSWORD})),
    );
    let link = server
        .mail
        .wait_for(email, "Confirm your email address")
        .link("/confirm-email");
    api.ok(
        "POST",
        "/users/confirm-email",
        Some(json!({"token": link.split("token=").nth(1).unwrap(), "password": PASSWORD})),
    );
    let out = std::process::Command::new("sqlite3")
        .arg(server.data_dir().join("twostep.db"))
        .arg(format!(
            "UPDATE users SET email_confirmed_at = NULL WHERE username = '{name}'"
        ))
        .output()
        .expect("sqlite3 is installed (the test script installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    api.ok(
        "POST",
        "/session",
        Some(json!({"login": name, "password": PASSWORD})),
    );
    api
}
