//! The lockout matrix: for each way an owner can lose access, a test named
//! after the case that gets the owner back in (the help page's table).

use std::time::Duration;

use serde_json::json;

use crate::common;
use common::accounts::{account, enable_two_step, Account, PASSWORD};
use common::api::ApiClient;
use common::git::Git;
use common::otp::{oathtool, scan_qr, settle, Phone};
use common::{Server, ServerOptions};

fn signed_in_with(server: &Server, name: &str, code: &str) -> Option<ApiClient> {
    let api = ApiClient::new(server);
    api.ok(
        "POST",
        "/session",
        Some(json!({"login": name, "password": PASSWORD})),
    );
    let (status, _) = api.call("POST", "/session/second-step", Some(json!({"code": code})));
    (status == 200).then_some(api)
}

/// Scans the QR code of a setup answer into a new device.
fn device(server: &Server, setup: &serde_json::Value, file: &str) -> Phone {
    let svg = server.data.path().join(file);
    std::fs::write(&svg, setup["qr_svg"].as_str().unwrap()).unwrap();
    Phone::new(&scan_qr(&svg))
}

#[test]
fn lost_phone_kept_recovery_codes() {
    let server = Server::start();
    let a = account(&server, "case1");
    let (mut lost, codes) = enable_two_step(&server, &a);
    let api = signed_in_with(&server, "case1", &codes[0]).expect("a recovery code signs in");
    let setup = api.ok(
        "POST",
        "/user/two-step/replace",
        Some(json!({"code": codes[1]})),
    );
    let mut phone = device(&server, &setup, "case1-new.svg");
    let done = api.ok(
        "POST",
        "/user/two-step/setup/verify",
        Some(json!({"code": phone.next_code()})),
    );
    assert_eq!(done["status"], "replaced");
    assert!(signed_in_with(&server, "case1", &phone.next_code()).is_some());
    assert!(
        signed_in_with(&server, "case1", &lost.next_code()).is_none(),
        "the lost phone is out"
    );
}

#[test]
fn lost_one_phone_kept_a_second_authenticator() {
    let server = Server::start();
    let a = account(&server, "case2");
    let (mut lost, _) = enable_two_step(&server, &a);
    let setup = a.api.ok(
        "POST",
        "/user/two-step/authenticators",
        Some(json!({"name": "drawer phone", "code": lost.next_code()})),
    );
    let mut spare = device(&server, &setup, "case2-spare.svg");
    a.api.ok(
        "POST",
        "/user/two-step/setup/verify",
        Some(json!({"code": spare.next_code()})),
    );
    // The phone is gone: the spare signs in and removes it.
    let api = signed_in_with(&server, "case2", &spare.next_code()).expect("the spare signs in");
    let apps = api.ok("GET", "/user/two-step", None)["authenticators"].clone();
    let lost_id = apps
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "Authenticator app")
        .and_then(|a| a["id"].as_str())
        .unwrap()
        .to_string();
    api.ok(
        "POST",
        &format!("/user/two-step/authenticators/{lost_id}/remove"),
        Some(json!({"code": spare.next_code()})),
    );
    assert!(signed_in_with(&server, "case2", &lost.next_code()).is_none());
}

#[test]
fn lost_phone_and_codes_kept_ssh_key_and_password() {
    let server = Server::start();
    let a = account(&server, "case3");
    enable_two_step(&server, &a);
    let git = Git::new(&server, "case3", &a.key);
    let out = git.ssh(&["recovery_codes"], Some(&format!("{PASSWORD}\n")));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let code = crate::common::codes_in(&stdout)
        .into_iter()
        .next()
        .expect("new codes printed");
    assert!(signed_in_with(&server, "case3", &code).is_some());
}

#[test]
fn lost_everything_but_password_and_mailbox() {
    let server = Server::start_with(ServerOptions {
        args: ["--recovery-wait", "4s", "--recovery-wait-with-proof", "2s"]
            .map(String::from)
            .to_vec(),
        ..ServerOptions::default()
    });
    let a = account(&server, "case4");
    enable_two_step(&server, &a);
    let help = reqwest::blocking::get(server.url("/help/recovery"))
        .unwrap()
        .text()
        .unwrap();
    assert!(
        help.contains("4 seconds") && help.contains("2 seconds"),
        "the help page tells the waits"
    );
    let email = "case4@example.net";
    let api = ApiClient::new(&server);
    api.ok(
        "POST",
        "/session",
        Some(json!({"login": "case4", "password": PASSWORD})),
    );
    api.ok("POST", "/session/recovery", None);
    let link = server
        .mail
        .wait_for(email, "Start recovering your account")
        .link("/recover/start");
    let st = api.ok(
        "POST",
        "/recovery/start",
        Some(json!({"token": link.split("token=").nth(1).unwrap()})),
    );
    assert_eq!(st["state"], "waiting");
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(api.ok("GET", "/session/recovery", None)["state"], "ready");
    api.ok("POST", "/session/recovery/finish-link", None);
    let link = server
        .mail
        .wait_for(email, "Finish recovering your account")
        .link("/recover/finish");
    let done = api.ok(
        "POST",
        "/session/recovery/finish",
        Some(json!({"token": link.split("token=").nth(1).unwrap()})),
    );
    assert_eq!(done["status"], "recovered");
    let st = api.ok("GET", "/user/two-step", None);
    assert_eq!(st["enabled"], false);
    assert!(st["authenticators"].as_array().unwrap().is_empty());
    let (status, _) = a.api.call("GET", "/user", None);
    assert_eq!(status, 401, "every other session ended");
    // A new authenticator, and the owner is back with two-step on.
    let owner = Account { api, ..a };
    let (mut phone, _) = enable_two_step(&server, &owner);
    assert!(signed_in_with(&server, "case4", &phone.next_code()).is_some());
}

#[test]
fn hardware_token_with_a_drifted_clock() {
    let server = Server::start();
    let a = account(&server, "case5");
    let (mut phone, _) = enable_two_step(&server, &a);
    let setup = a.api.ok(
        "POST",
        "/user/two-step/authenticators",
        Some(json!({"name": "token", "code": phone.next_code()})),
    );
    let secret = setup["key"].as_str().unwrap().replace(' ', "");
    let t = settle();
    a.api.ok(
        "POST",
        "/user/two-step/setup/verify",
        Some(json!({"code": oathtool(&secret, t)})),
    );
    // The token's clock now runs 3 minutes fast.
    let t = settle();
    let fast_step = (t + 180) / 30;
    let api = ApiClient::new(&server);
    api.ok(
        "POST",
        "/session",
        Some(json!({"login": "case5", "password": PASSWORD})),
    );
    let (status, body) = api.call(
        "POST",
        "/session/second-step",
        Some(json!({"code": oathtool(&secret, t + 180)})),
    );
    assert_eq!(status, 401);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("3 minutes ahead"),
        "{body}"
    );
    let next = oathtool(&secret, (fast_step + 1) * 30 + 1);
    api.ok("POST", "/session/second-step", Some(json!({"code": next})));
}

#[test]
fn used_every_recovery_code() {
    let server = Server::start();
    let a = account(&server, "case6");
    let (_lost, codes) = enable_two_step(&server, &a);
    for code in &codes {
        assert!(signed_in_with(&server, "case6", code).is_some());
    }
    server
        .mail
        .wait_for("case6@example.net", "You used your last recovery code")
        .link("/account/two-step/recovery-codes");
    assert!(
        signed_in_with(&server, "case6", &codes[0]).is_none(),
        "each works once"
    );
    // New codes over SSH, and the owner is back.
    let git = Git::new(&server, "case6", &a.key);
    let out = git.ssh(&["recovery_codes"], Some(&format!("{PASSWORD}\n")));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let code = crate::common::codes_in(&stdout)
        .into_iter()
        .next()
        .expect("new codes printed");
    let api = signed_in_with(&server, "case6", &code).expect("a new code signs in");
    let left = api.ok("GET", "/user/two-step", None)["recovery_codes_remaining"].clone();
    assert_eq!(left, 5);
}
