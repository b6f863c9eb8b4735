//! Administrators: granted on the command line, resetting and unlocking
//! through the API, the pages and the command line (a reason each time, mail
//! to the user, an audit row), one admin's reset of another waiting for a
//! second admin, and everyone else refused.

use std::process::{Command, Output};

use serde_json::{json, Value};

use crate::common;
use common::accounts::{account, enable_two_step, fresh_session, Account, PASSWORD};
use common::api::ApiClient;
use common::otp::Phone;
use common::Server;

/// `twostep admin ARGS` on the running server's data folder.
pub(crate) fn admin_cli(server: &Server, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_twostep"))
        .arg("admin")
        .args(args)
        .arg("--data-dir")
        .arg(server.data_dir())
        .arg("--issuer")
        .arg("twostep-test")
        .output()
        .expect("twostep admin runs")
}

pub(crate) fn cli_ok(server: &Server, args: &[&str]) -> String {
    let out = admin_cli(server, args);
    assert!(
        out.status.success(),
        "twostep admin {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn cli_fails(server: &Server, args: &[&str]) -> String {
    let out = admin_cli(server, args);
    assert!(!out.status.success(), "twostep admin {args:?} should fail");
    String::from_utf8(out.stderr).unwrap()
}

/// A confirmed account with two-step on, signed in through the API.
pub(crate) fn two_step_user(server: &Server, name: &str) -> (Account, Phone, Vec<String>) {
    let a = account(server, name);
    let (phone, codes) = enable_two_step(server, &a);
    (a, phone, codes)
}

pub(crate) fn sudo(a: &Account, phone: &mut Phone) {
    a.api.ok(
        "POST",
        "/session/sudo",
        Some(json!({"code": phone.next_code()})),
    );
}

pub(crate) fn email(name: &str) -> String {
    format!("{name}@example.net")
}

fn usernames(page: &Value) -> Vec<String> {
    page["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn an_admin_granted_on_the_command_line_resets_a_user_through_the_api() {
    let server = Server::start();
    let (alice, mut alice_phone, _) = two_step_user(&server, "alice");
    let (bob, mut bob_phone, _) = two_step_user(&server, "bob");
    let carol = account(&server, "carol");

    // Admins must have two-step on; the command line says why it refuses.
    let refused = cli_fails(&server, &["grant", "carol"]);
    assert!(refused.contains("two-step"), "{refused}");
    assert!(
        cli_ok(&server, &["grant", "alice", "--reason", "first admin"])
            .contains("alice is now an administrator")
    );
    server
        .mail
        .wait_for(&email("alice"), "You are now an administrator");
    assert!(alice.api.ok("GET", "/user", None)["admin"]
        .as_bool()
        .unwrap());

    // Not an admin: 403 on every admin endpoint, with a session or an app password.
    sudo(&bob, &mut bob_phone);
    let bob_token = bob.api.ok(
        "POST",
        "/user/app-passwords",
        Some(json!({"label": "ci", "scopes": ["account:read"]})),
    )["password"]
        .as_str()
        .unwrap()
        .to_string();
    for (method, path) in [
        ("GET", "/admin/users"),
        ("GET", "/admin/users/alice"),
        ("POST", "/admin/users/alice/two-step/reset"),
        ("POST", "/admin/users/alice/two-step/unlock"),
        ("POST", "/admin/users/bob/grant-admin"),
        ("POST", "/admin/users/alice/revoke-admin"),
        ("GET", "/admin/approvals"),
        ("GET", "/admin/audit"),
    ] {
        let body = (method == "POST").then(|| json!({"reason": "take over"}));
        carol.api.err(method, path, body.clone(), 403, "forbidden");
        bob.api.err(method, path, body, 403, "forbidden");
        let r = reqwest::blocking::Client::new()
            .request(
                method.parse().unwrap(),
                server.url(&format!("/api/v1{path}")),
            )
            .basic_auth("bob", Some(&bob_token))
            .json(&json!({"reason": "x"}))
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 403, "{path} with an app password");
    }
    // Anonymous: sign in first.
    let anonymous = ApiClient::new(&server);
    anonymous.err("GET", "/admin/users", None, 401, "sign_in_required");

    // The admin needs a fresh factor even to read.
    let alice = Account {
        name: "alice".into(),
        api: fresh_session(&server, "alice", &mut alice_phone),
        key: alice.key.clone(),
    };
    alice
        .api
        .err("GET", "/admin/users", None, 403, "sudo_required");
    sudo(&alice, &mut alice_phone);
    let all = alice.api.ok("GET", "/admin/users", None);
    assert_eq!(usernames(&all), ["alice", "bob", "carol"]);
    assert_eq!(
        usernames(&alice.api.ok("GET", "/admin/users?two_step=off", None)),
        ["carol"]
    );
    assert_eq!(
        usernames(&alice.api.ok("GET", "/admin/users?q=b", None)),
        ["bob"]
    );
    alice.api.err(
        "GET",
        "/admin/users?two_step=maybe",
        None,
        422,
        "invalid_filter",
    );
    alice
        .api
        .err("GET", "/admin/users/nobody", None, 404, "user_not_found");

    // A reason is required; one's own reset is refused.
    alice.api.err(
        "POST",
        "/admin/users/bob/two-step/reset",
        Some(json!({"reason": "  "})),
        422,
        "reason_required",
    );
    alice.api.err(
        "POST",
        "/admin/users/bob/two-step/reset",
        Some(json!({})),
        422,
        "reason_required",
    );
    alice.api.err(
        "POST",
        "/admin/users/alice/two-step/reset",
        Some(json!({"reason": "me"})),
        403,
        "forbidden",
    );
    alice.api.err(
        "POST",
        "/admin/users/carol/two-step/reset",
        Some(json!({"reason": "why not"})),
        409,
        "conflict",
    );

    let done = alice.api.ok(
        "POST",
        "/admin/users/bob/two-step/reset",
        Some(json!({"reason": "lost phone and codes; identity checked by video call"})),
    );
    assert_eq!(done["status"], "reset");

    // Bob is told who and why; his sessions and app passwords are gone.
    let mail = server.mail.wait_for(
        &email("bob"),
        "Two-step verification reset by an administrator",
    );
    assert!(mail.raw.contains("The administrator alice"), "{}", mail.raw);
    assert!(
        mail.raw.contains("identity checked by video call"),
        "{}",
        mail.raw
    );
    bob.api.err("GET", "/user", None, 401, "sign_in_required");
    let r = reqwest::blocking::Client::new()
        .get(server.url("/api/v1/user"))
        .basic_auth("bob", Some(&bob_token))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 401, "the app password was revoked");

    // His next sign-in goes into setting up two-step again.
    let again = ApiClient::new(&server);
    let signed = again.ok(
        "POST",
        "/session",
        Some(json!({"login": "bob", "password": PASSWORD})),
    );
    assert_eq!(signed["status"], "two_step_setup_required");
    let me = again.ok("GET", "/user", None);
    assert_eq!(
        (
            me["two_step_enabled"].as_bool(),
            me["two_step_setup_required"].as_bool()
        ),
        (Some(false), Some(true))
    );
    let log = again.ok("GET", "/user/security-log", None);
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"] == "two_step.reset_by_admin"
                && e["detail"].as_str().unwrap().contains("alice")),
        "{log}"
    );
    // Setting it up again clears the mark.
    let b2 = Account {
        name: "bob".into(),
        api: again,
        key: bob.key.clone(),
    };
    enable_two_step(&server, &b2);
    assert_eq!(
        b2.api.ok("GET", "/user", None)["two_step_setup_required"],
        false
    );

    // The audit log, in the API and on the command line.
    let audit = alice.api.ok("GET", "/admin/audit", None);
    let first = &audit["entries"][0];
    assert_eq!(
        (
            first["actor"].as_str(),
            first["target"].as_str(),
            first["action"].as_str(),
            first["channel"].as_str()
        ),
        (
            Some("alice"),
            Some("bob"),
            Some("two_step.reset"),
            Some("api")
        )
    );
    assert!(first["reason"].as_str().unwrap().contains("video call"));
    assert_eq!(first["ip"], "127.0.0.1");
    let lines = cli_ok(&server, &["audit"]);
    let rows: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2, "{lines}");
    assert_eq!(
        (rows[0]["action"].as_str(), rows[0]["actor"].as_str()),
        (Some("two_step.reset"), Some("alice"))
    );
    assert_eq!(
        (
            rows[1]["action"].as_str(),
            rows[1]["actor"].as_str(),
            rows[1]["target"].as_str(),
            rows[1]["channel"].as_str()
        ),
        (
            Some("admin.granted"),
            Some("the server's command line"),
            Some("alice"),
            Some("cli")
        )
    );
    // Paginated: one entry a page.
    let page = alice.api.ok("GET", "/admin/audit?limit=1", None);
    let before = page["next_before"].as_i64().unwrap();
    let older = alice.api.ok(
        "GET",
        &format!("/admin/audit?limit=1&before={before}"),
        None,
    );
    assert_eq!(older["entries"][0]["action"], "admin.granted");

    // The command line lists with the same filters.
    let off = cli_ok(&server, &["users", "--two-step", "off"]);
    assert_eq!(off.lines().count(), 1, "{off}");
    assert!(off.contains("\"carol\""));
}

#[test]
fn an_admin_unlocks_and_resets_on_the_pages_and_the_user_is_led_into_setup() {
    use common::pages::{sign_in_password, sign_up_confirmed, two_step_on_pages};
    let server = Server::start();
    let mut ann = two_step_on_pages(&server, "ann");
    let mut dan = two_step_on_pages(&server, "dan");
    cli_ok(&server, &["grant", "ann"]);

    // Someone else's admin pages are closed to a user.
    let eve = sign_up_confirmed(&server, "eve");
    let closed = eve.get("/admin");
    assert_eq!(closed.status, 403);
    closed.assert_contains("Only administrators can do this.");
    assert!(
        !eve.get("/account").body.contains("href=\"/admin\""),
        "no admin link for a user"
    );

    // Ten wrong codes lock dan's second step.
    let intruder = server.browser();
    sign_in_password(&intruder, "dan").assert_path("/signin/second-step");
    for _ in 0..10 {
        intruder.submit(
            "/signin/second-step",
            "/signin/second-step",
            &[("code", "000000")],
        );
    }
    let locked = intruder.submit(
        "/signin/second-step",
        "/signin/second-step",
        &[("code", &dan.phone.next_code())],
    );
    assert_eq!(locked.status, 429, "{}", locked.body);

    // The admin confirms with a fresh code before the pages open.
    ann.b = server.browser();
    sign_in_password(&ann.b, "ann");
    ann.b
        .submit(
            "/signin/second-step",
            "/signin/second-step",
            &[("code", &ann.phone.next_code())],
        )
        .assert_path("/");
    assert!(ann.b.get("/account").body.contains("href=\"/admin\""));
    let ask = ann.b.get("/admin");
    ask.assert_path("/account/confirm");
    let list = ann.b.post_form(
        "/account/confirm",
        &ask.csrf(),
        &[("code", &ann.phone.next_code()), ("next", "/admin")],
    );
    list.assert_path("/admin")
        .assert_contains("dan")
        .assert_contains("eve");
    let only_locked = ann.b.get("/admin?locked=true");
    assert_eq!(
        common::texts(&only_locked.body, "#users tbody tr td:first-child"),
        ["dan"]
    );

    let page = ann.b.get("/admin/users/dan");
    page.assert_contains("locked after wrong codes");
    let unlocked = ann.b.post_form(
        "/admin/users/dan/unlock",
        &page.csrf(),
        &[("reason", "he called from his desk phone")],
    );
    unlocked.assert_contains("Two-step sign-in unlocked; the user was mailed.");
    let mail = server.mail.wait_for(
        "dan@example.com",
        "Two-step sign-in unlocked by an administrator",
    );
    assert!(
        mail.raw.contains("he called from his desk phone") && mail.raw.contains("ann"),
        "{}",
        mail.raw
    );
    let again = server.browser();
    sign_in_password(&again, "dan");
    again
        .submit(
            "/signin/second-step",
            "/signin/second-step",
            &[("code", &dan.phone.next_code())],
        )
        .assert_path("/");

    // A reset without a reason is refused next to the field; with one it is done.
    let page = ann.b.get("/admin/users/dan");
    let refused = ann
        .b
        .post_form("/admin/users/dan/reset", &page.csrf(), &[("reason", " ")]);
    assert_eq!(refused.status, 422);
    assert_eq!(
        common::texts(&refused.body, "#reason-error"),
        ["Give a reason: it is mailed to the user and kept in the admin audit log."]
    );
    let reset = ann.b.post_form(
        "/admin/users/dan/reset",
        &page.csrf(),
        // A reason on two lines, as the textarea sends it.
        &[("reason", "phone stolen,\r\nID checked at the desk")],
    );
    reset.assert_contains("Two-step verification was reset; the user was mailed.");
    assert!(common::texts(&reset.body, "#two-step-state")[0].contains("reset by an administrator"));
    server.mail.wait_for(
        "dan@example.com",
        "Two-step verification reset by an administrator",
    );

    // Dan's sessions ended; signing in takes him to setting two-step up again.
    dan.b.get("/account").assert_path("/signin");
    let back = sign_in_password(&dan.b, "dan");
    back.assert_path("/account/two-step")
        .assert_contains("An administrator reset your two-step verification. Set it up again now");
    assert_eq!(
        common::texts(&dan.b.get("/repositories").body, "#two-step-reset-banner").len(),
        1,
        "every page says so"
    );

    let audit = ann.b.get("/admin/audit");
    let rows = common::texts(&audit.body, "#audit tbody tr");
    assert!(
        rows[0].contains("two_step.reset")
            && rows[0].contains("phone stolen")
            && rows[0].contains("ID checked at the desk"),
        "{rows:?}"
    );
    assert!(
        rows[1].contains("second_step.unlocked") && rows[1].contains("desk phone"),
        "{rows:?}"
    );

    // A made-up action is a page, not an error of ours.
    let odd = ann
        .b
        .post_form("/admin/users/dan/delete", &page.csrf(), &[("reason", "x")]);
    assert_eq!(odd.status, 404);
}

#[test]
fn resetting_an_admin_waits_for_a_second_admin() {
    let server = Server::start();
    let (alice, mut alice_phone, _) = two_step_user(&server, "alice");
    let (dave, mut dave_phone, _) = two_step_user(&server, "dave");
    let (erin, mut erin_phone, _) = two_step_user(&server, "erin");
    for name in ["alice", "dave", "erin"] {
        cli_ok(&server, &["grant", name]);
    }
    // An approver must have held the right before the request (seconds).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    sudo(&alice, &mut alice_phone);
    let (status, asked) = alice.api.call(
        "POST",
        "/admin/users/dave/two-step/reset",
        Some(json!({"reason": "dave says he lost his phone"})),
    );
    assert_eq!(
        (status, asked["status"].as_str()),
        (202, Some("awaiting_approval")),
        "{asked}"
    );
    let id = asked["approval_id"].as_str().unwrap().to_string();
    let told = server.mail.wait_for(
        &email("dave"),
        "Reset of your two-step verification requested",
    );
    assert!(told.raw.contains("dave says he lost his phone"));
    server
        .mail
        .wait_for(&email("erin"), "An administrator reset needs your approval");
    assert_eq!(
        server.mail.count(&email("alice"), "needs your approval"),
        0,
        "not the asker"
    );
    alice.api.err(
        "POST",
        "/admin/users/dave/two-step/reset",
        Some(json!({"reason": "again"})),
        409,
        "conflict",
    );

    // Nothing changed yet: dave still signs in with his phone.
    let check = ApiClient::new(&server);
    check.ok(
        "POST",
        "/session",
        Some(json!({"login": "dave", "password": PASSWORD})),
    );
    check.ok(
        "POST",
        "/session/second-step",
        Some(json!({"code": dave_phone.next_code()})),
    );

    // Neither the asker nor the target may approve.
    alice.api.err(
        "POST",
        &format!("/admin/approvals/{id}/approve"),
        Some(json!({})),
        403,
        "forbidden",
    );
    sudo(&dave, &mut dave_phone);
    dave.api.err(
        "POST",
        &format!("/admin/approvals/{id}/approve"),
        Some(json!({})),
        403,
        "forbidden",
    );

    // A second admin approves, with a fresh code in the body.
    let waiting = {
        sudo(&erin, &mut erin_phone);
        erin.api.ok("GET", "/admin/approvals", None)
    };
    assert_eq!(
        (
            waiting[0]["target"].as_str(),
            waiting[0]["requested_by"].as_str()
        ),
        (Some("dave"), Some("alice"))
    );
    erin.api.ok(
        "POST",
        &format!("/admin/approvals/{id}/approve"),
        Some(json!({"code": erin_phone.next_code()})),
    );
    let mail = server.mail.wait_for(
        &email("dave"),
        "Two-step verification reset by an administrator",
    );
    assert!(
        mail.raw.contains("The administrator erin") && mail.raw.contains("asked by alice"),
        "{}",
        mail.raw
    );
    erin.api.err(
        "POST",
        &format!("/admin/approvals/{id}/approve"),
        Some(json!({})),
        410,
        "link_invalid",
    );
    assert_eq!(erin.api.ok("GET", "/admin/approvals", None), json!([]));
    let after = ApiClient::new(&server);
    let signed = after.ok(
        "POST",
        "/session",
        Some(json!({"login": "dave", "password": PASSWORD})),
    );
    assert_eq!(signed["status"], "two_step_setup_required");

    // A request can be cancelled instead; the target is told nothing changed.
    let asked = alice.api.ok(
        "POST",
        "/admin/users/erin/two-step/reset",
        Some(json!({"reason": "test"})),
    );
    let id = asked["approval_id"].as_str().unwrap();
    alice.api.ok(
        "POST",
        &format!("/admin/approvals/{id}/cancel"),
        Some(json!({})),
    );
    server.mail.wait_for(
        &email("erin"),
        "Reset of your two-step verification cancelled",
    );
    let actions: Vec<String> = alice.api.ok("GET", "/admin/audit", None)["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        &actions[..4],
        [
            "two_step.reset_cancelled",
            "two_step.reset_requested",
            "two_step.reset_approved",
            "two_step.reset_requested"
        ]
    );

    // The server's command line resets directly, with a reason.
    assert!(
        cli_fails(&server, &["reset-two-step", "erin", "--reason", " "]).contains("Give a reason")
    );
    assert!(
        cli_fails(&server, &["reset-two-step", "nobody", "--reason", "x"])
            .contains("no user named nobody")
    );
    assert!(cli_ok(
        &server,
        &["reset-two-step", "erin", "--reason", "operator ticket 42"]
    )
    .contains("was reset"));
    let mail = server.mail.wait_for(
        &email("erin"),
        "Two-step verification reset by an administrator",
    );
    assert!(
        mail.raw
            .contains("An administrator on the server's command line")
            && mail.raw.contains("operator ticket 42")
    );
    // …and cannot take a reset admin's rights back by mistake from the pages.
    alice.api.err(
        "POST",
        "/admin/users/alice/revoke-admin",
        Some(json!({})),
        403,
        "forbidden",
    );
    alice.api.ok(
        "POST",
        "/admin/users/erin/revoke-admin",
        Some(json!({"reason": "left the team"})),
    );
    server
        .mail
        .wait_for(&email("erin"), "You are no longer an administrator");
}
