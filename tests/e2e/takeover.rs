//! The takeover paths an attacker tried, closed: a stolen session cookie
//! changes no credential without a fresh factor, and parallel bursts of wrong
//! passwords evaluate no more than the budget.

use crate::common;

use std::sync::Arc;

use common::accounts::{account, enable_two_step, fresh_session, PASSWORD};
use common::api::ApiClient;
use common::Server;
use serde_json::json;

#[test]
fn a_stolen_session_changes_no_credential_without_a_fresh_factor() {
    let server = Server::start();
    let owner = account(&server, "olga");
    let (mut phone, _) = enable_two_step(&server, &owner);
    let thief = fresh_session(&server, "olga", &mut phone);

    let (_, public) = common::ssh_keygen(server.data.path(), "thief_key");
    for (path, body) in [
        ("/user/ssh-keys", json!({"key": public})),
        (
            "/user/app-passwords",
            json!({"label": "x", "scopes": ["repository:read"]}),
        ),
        ("/user/two-step/recovery-codes", json!({})),
        ("/user/two-step/disable", json!({})),
        ("/user/two-step/replace", json!({})),
    ] {
        thief.err("POST", path, Some(body), 403, "sudo_required");
    }
    // The password is not enough while two-step is on, and a wrong code is refused.
    thief.err(
        "POST",
        "/session/sudo",
        Some(json!({"password": PASSWORD})),
        422,
        "code_required",
    );
    thief.err(
        "POST",
        "/session/sudo",
        Some(json!({"code": "000000"})),
        401,
        "wrong_code",
    );
    let ssh_keys = thief.ok("GET", "/user/ssh-keys", None);
    assert_eq!(ssh_keys.as_array().unwrap().len(), 1, "{ssh_keys}");

    // The owner, with a code, may change things for a while without asking again.
    let r = thief.ok(
        "POST",
        "/session/sudo",
        Some(json!({"code": phone.next_code()})),
    );
    assert!(r["sudo_until"].as_i64().unwrap() > 0);
    thief.ok("POST", "/user/ssh-keys", Some(json!({"key": public})));
    let log = thief.ok("GET", "/user/security-log", None).to_string();
    assert!(log.contains("sudo.opened"), "{log}");
}

#[test]
fn credentials_need_a_confirmed_email() {
    let server = Server::start();
    // A sign-up with someone else's address makes no account: the link goes
    // to the address.
    let api = ApiClient::new(&server);
    api.ok(
        "POST",
        "/users",
        Some(json!({"username": "squatter", "email": "victim@example.org", "password": PASSWORD})),
    );
    api.err(
        "POST",
        "/session",
        Some(json!({"login": "squatter", "password": PASSWORD})),
        401,
        "bad_credentials",
    );
    // An account left unconfirmed (by an earlier version) makes no credential.
    let api = common::accounts::unconfirmed(&server, "squatter", "victim@example.org");
    let (_, public) = common::ssh_keygen(server.data.path(), "squat_key");
    api.err(
        "POST",
        "/user/ssh-keys",
        Some(json!({"key": public, "password": PASSWORD})),
        403,
        "email_unconfirmed",
    );
    api.err(
        "POST",
        "/user/app-passwords",
        Some(json!({"label": "x", "scopes": ["repository:read"], "password": PASSWORD})),
        403,
        "email_unconfirmed",
    );
    // The owner of the address takes the account back: the squatter is out.
    let owner = ApiClient::new(&server);
    owner.ok(
        "POST",
        "/password/forgot",
        Some(json!({"email": "victim@example.org"})),
    );
    let link = server
        .mail
        .wait_for("victim@example.org", "Reset your password")
        .link("/password/reset");
    owner.ok(
        "POST",
        "/password/reset",
        Some(json!({"token": link.split("token=").nth(1).unwrap(), "password": "the-owners-new-passphrase"})),
    );
    api.err("GET", "/user", None, 401, "sign_in_required");
}

/// Fires `n` sign-ins with a wrong password at once; the statuses.
pub fn wrong_password_burst(bases: &[String], login: &str, n: usize) -> Vec<u16> {
    let bases = Arc::new(bases.to_vec());
    let threads: Vec<_> = (0..n)
        .map(|i| {
            let bases = bases.clone();
            let login = login.to_string();
            std::thread::spawn(move || {
                let base = &bases[i % bases.len()];
                reqwest::blocking::Client::new()
                    .post(format!("{base}/api/v1/session"))
                    .json(&json!({"login": login, "password": "wrong-password-guess"}))
                    .send()
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0)
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

/// Fires `n` wrong second-step codes at once on one half-signed-in session.
pub fn wrong_code_burst(bases: &[String], session: &str, n: usize) -> Vec<u16> {
    let threads: Vec<_> = (0..n)
        .map(|i| {
            let base = bases[i % bases.len()].clone();
            let session = session.to_string();
            std::thread::spawn(move || {
                reqwest::blocking::Client::new()
                    .post(format!("{base}/api/v1/session/second-step"))
                    .header("cookie", format!("twostep_session={session}"))
                    .json(&json!({"code": format!("{:06}", (i * 7919 + 13) % 1_000_000)}))
                    .send()
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0)
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

#[test]
fn a_burst_of_wrong_codes_records_at_most_the_budget() {
    let server = Server::start();
    let quinn = account(&server, "quinn");
    let (mut phone, _) = enable_two_step(&server, &quinn);
    let half = ApiClient::new(&server);
    half.ok(
        "POST",
        "/session",
        Some(json!({"login": "quinn", "password": PASSWORD})),
    );
    let session = half.cookie("twostep_session").unwrap();
    let statuses = wrong_code_burst(std::slice::from_ref(&server.base), &session, 100);
    let wrong = statuses.iter().filter(|s| **s == 401).count();
    assert!((1..=9).contains(&wrong), "{statuses:?}");
    assert_eq!(
        wrong + statuses.iter().filter(|s| **s == 429).count(),
        100,
        "{statuses:?}"
    );
    half.err(
        "POST",
        "/session/second-step",
        Some(json!({"code": phone.next_code()})),
        429,
        "second_step_locked",
    );
    server
        .mail
        .wait_for("quinn@example.net", "Two-step sign-in locked");
    assert_eq!(
        server
            .mail
            .count("quinn@example.net", "Two-step sign-in locked"),
        1
    );
}

#[test]
fn a_burst_of_wrong_passwords_evaluates_at_most_the_budget() {
    let server = Server::start();
    let owner = account(&server, "pavel");
    let statuses = wrong_password_burst(std::slice::from_ref(&server.base), "pavel", 120);
    let evaluated = statuses.iter().filter(|s| **s == 401).count();
    let paused = statuses.iter().filter(|s| **s == 429).count();
    assert!(
        evaluated <= 10,
        "{evaluated} wrong passwords were checked: {statuses:?}"
    );
    assert_eq!(evaluated + paused, 120, "{statuses:?}");
    // The right password from an unknown client now waits too.
    let r = reqwest::blocking::Client::new()
        .post(server.url("/api/v1/session"))
        .json(&json!({"login": "pavel", "password": PASSWORD}))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    let log = owner.api.ok("GET", "/user/security-log", None);
    let failed = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "signin.failed")
        .count();
    assert!(failed <= 10, "{failed} failures logged");
    server
        .mail
        .wait_for("pavel@example.net", "Password sign-in paused");
    assert_eq!(
        server
            .mail
            .count("pavel@example.net", "Password sign-in paused"),
        1
    );
}

#[test]
fn a_password_reset_shows_and_revokes_what_an_intruder_left() {
    let server = Server::start();
    // Someone held the account for a while: an SSH key and an app password.
    let rita = account(&server, "rita");
    let app = rita.api.ok(
        "POST",
        "/user/app-passwords",
        Some(json!({"label": "backdoor", "scopes": ["repository:read", "account:read"]})),
    );
    let app_secret = app["password"].as_str().unwrap().to_string();
    let key_fingerprint = common::ssh_fingerprint(&rita.key);

    // The owner of the address resets the password.
    let b = server.browser();
    let forgot = |email: &str| {
        b.submit("/password/forgot", "/password/forgot", &[("email", email)])
            .body
    };
    // Whether or not an account uses the address, the answer is the same.
    assert_eq!(forgot("rita@example.net"), forgot("nobody@example.net"));
    let link = server
        .mail
        .wait_for("rita@example.net", "Reset your password")
        .link("/password/reset");
    let form = b.get(&link);
    let token = common::field_value(&form.body, "token").unwrap();
    let review = b.post_form(
        "/password/reset",
        &form.csrf(),
        &[("token", &token), ("password", "a-new-long-passphrase")],
    );
    review
        .assert_contains("Your password was changed")
        .assert_contains(&key_fingerprint);
    // The reset ended the app password at once, and says so.
    assert_eq!(
        common::texts(&review.body, "#review-ended li"),
        ["App password \"backdoor\" (repository:read account:read)"]
    );
    let r = reqwest::blocking::Client::new()
        .get(server.url("/api/v1/user"))
        .basic_auth("rita", Some(&app_secret))
        .send()
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        401,
        "the app password died with the reset"
    );
    // The mail lists them too.
    let mail = server
        .mail
        .wait_for("rita@example.net", "Your password was changed");
    assert!(mail.raw.contains(&key_fingerprint), "{}", mail.raw);
    assert!(mail.raw.contains("backdoor"), "{}", mail.raw);

    // The SSH key stays (Git keeps working) until revoked with one click.
    let git = common::git::Git::new(&server, "rita", &rita.key);
    assert!(git.ssh(&[], None).status.success());
    let revoke = |kind: &str, page: &common::Page| {
        let html = &page.body;
        let at = html.find(&format!("value=\"{kind}\"")).unwrap();
        let id = common::field_value(&html[at..], "id").unwrap();
        let review_token = common::field_value(html, "review").unwrap();
        b.post_form(
            "/password/reset/revoke",
            &page.csrf(),
            &[("review", &review_token), ("kind", kind), ("id", &id)],
        )
    };
    let after_key = revoke("ssh-key", &review);
    after_key.assert_contains("SSH key removed");
    assert!(!after_key.body.contains(&key_fingerprint));
    assert!(!git.ssh(&[], None).status.success());
    after_key.assert_contains("Your account has no SSH keys.");
    // The review token does nothing once its page is gone.
    let bogus = b.post_form(
        "/password/reset/revoke",
        &review.csrf(),
        &[("review", "nope"), ("kind", "ssh-key"), ("id", "x")],
    );
    assert_eq!(bogus.status, 410);
}

#[test]
fn changing_the_password_or_the_email_needs_a_fresh_proof() {
    let server = Server::start();
    let uma = account(&server, "uma");
    // A second session, signed in a moment ago, without a fresh proof.
    let other = ApiClient::new(&server);
    other.ok(
        "POST",
        "/session",
        Some(json!({"login": "uma", "password": PASSWORD})),
    );
    other.err(
        "POST",
        "/user/password",
        Some(json!({"new_password": "a-brand-new-passphrase"})),
        403,
        "sudo_required",
    );
    other.err(
        "POST",
        "/user/email",
        Some(json!({"email": "uma@new.example.org"})),
        403,
        "sudo_required",
    );
    other.err(
        "POST",
        "/user/password",
        Some(json!({"new_password": "a-brand-new-passphrase", "password": "not-the-password"})),
        422,
        "wrong_password",
    );
    other.ok(
        "POST",
        "/user/password",
        Some(json!({"new_password": "a-brand-new-passphrase", "password": PASSWORD})),
    );
    // The first session ended; the old password no longer works.
    uma.api.err("GET", "/user", None, 401, "sign_in_required");
    ApiClient::new(&server).err(
        "POST",
        "/session",
        Some(json!({"login": "uma", "password": PASSWORD})),
        401,
        "bad_credentials",
    );
    server
        .mail
        .wait_for("uma@example.net", "Your password was changed");

    // A new address is used only once the link mailed to it is opened.
    let r = other.ok(
        "POST",
        "/user/email",
        Some(json!({"email": "uma@new.example.org"})),
    );
    assert_eq!(r["status"], "confirmation_sent");
    server.mail.wait_for(
        "uma@example.net",
        "A change of your email address was requested",
    );
    assert_eq!(other.ok("GET", "/user", None)["email"], "uma@example.net");
    let link = server
        .mail
        .wait_for("uma@new.example.org", "Confirm your new email address")
        .link("/account/email/confirm");
    let token = link.split("token=").nth(1).unwrap();
    let user = other.ok("POST", "/user/email/confirm", Some(json!({"token": token})));
    assert_eq!(user["email"], "uma@new.example.org");
    assert_eq!(user["email_confirmed"], true);
    other.err(
        "POST",
        "/user/email/confirm",
        Some(json!({"token": token})),
        410,
        "link_invalid",
    );
    server
        .mail
        .wait_for("uma@example.net", "Your email address was changed");
    server
        .mail
        .wait_for("uma@new.example.org", "Your email address was changed");

    // The same on the account page, in a browser session.
    let b = server.browser();
    b.submit(
        "/signin",
        "/signin",
        &[
            ("login", "uma@new.example.org"),
            ("password", "a-brand-new-passphrase"),
        ],
    )
    .assert_path("/");
    let refused = b.submit(
        "/account",
        "/account/password",
        &[
            ("new_password", "short"),
            ("current_password", "a-brand-new-passphrase"),
        ],
    );
    assert_eq!(refused.status, 422);
    refused.assert_contains("at least 10 characters");
    b.submit(
        "/account",
        "/account/password",
        &[
            ("new_password", "yet-another-passphrase"),
            ("current_password", "a-brand-new-passphrase"),
        ],
    )
    .assert_contains("Your password was changed. Your other sessions were signed out.");
}
