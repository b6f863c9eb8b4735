//! Self-service recovery for an owner who lost every second factor: started
//! from the second-step page (a mailed link) or with `ssh … recover`, a
//! waiting period (a few seconds here), cancelled by a code, by the link in
//! a mail or over SSH, and finished with the password and a fresh link.

use std::time::Duration;

use serde_json::json;

use crate::common;
use common::accounts::{account, enable_two_step, PASSWORD as API_PASSWORD};
use common::api::ApiClient;
use common::git::Git;
use common::otp::{secret_of, Phone};
use common::pages::{scan_setup, sign_in_password, two_step_on_pages, TwoStepOn};
use common::tty::Terminal;
use common::{Browser, Server, ServerOptions};

/// Waits of 4 s, and 2 s with a second proof.
pub(crate) fn server() -> Server {
    Server::start_with(ServerOptions {
        args: ["--recovery-wait", "4s", "--recovery-wait-with-proof", "2s"]
            .map(String::from)
            .to_vec(),
        ..ServerOptions::default()
    })
}

/// From the second-step page in `b` (password given): mails the start link
/// and follows it; returns the page that says when it is ready.
pub(crate) fn start_on_pages(
    server: &Server,
    b: &Browser,
    name: &str,
    email: &str,
) -> common::Page {
    let second = sign_in_password(b, name);
    second
        .assert_path("/signin/second-step")
        .assert_contains("I lost my authenticator and my recovery codes");
    let page = b.get("/signin/recover");
    page.assert_contains("Email me the link to start");
    let n = server.mail.count(email, "Start recovering your account");
    b.post_form("/signin/recover", &page.csrf(), &[])
        .assert_contains("Check your email");
    let mail = server
        .mail
        .wait_for_nth(email, "Start recovering your account", n + 1);
    // Opening the link does nothing by itself (mail scanners open links too).
    let confirm = b.get(&mail.link("/recover/start"));
    confirm.assert_contains("Start the recovery");
    let token = common::field_value(&confirm.body, "token").unwrap();
    let started = b.post_form("/recover/start", &confirm.csrf(), &[("token", &token)]);
    started.assert_contains("Recovery started");
    started
}

#[test]
fn lost_phone_codes_and_ssh_key_the_owner_recovers_after_the_wait() {
    let server = server();
    let TwoStepOn { b: old, .. } = two_step_on_pages(&server, "kim");
    let email = "kim@example.com";
    // A new browser (the old one is gone with the phone): the longer wait.
    let b = server.browser();
    let started = start_on_pages(&server, &b, "kim", email);
    started.assert_contains("Waiting is shorter when you also confirm with one of your SSH keys");
    let mail = server.mail.wait_for(email, "Account recovery started");
    assert!(
        mail.raw.contains("/recover/cancel?request="),
        "{}",
        mail.raw
    );
    // Every signed-in page of the account shows the banner.
    old.get("/account")
        .assert_contains("id=\"recovery-banner\"")
        .assert_contains("Someone asked to recover this account");

    // Too early: the page says when; no finishing link is mailed.
    let page = b.get("/signin/recover");
    page.assert_contains("is under way");
    let early = b.post_form("/signin/recover/finish", &page.csrf(), &[]);
    assert_eq!(early.status, 409, "{}", early.body);
    early.assert_contains("ready on");

    std::thread::sleep(Duration::from_secs(5));
    let page = b.get("/signin/recover");
    page.assert_contains("is ready");
    b.post_form("/signin/recover/finish", &page.csrf(), &[])
        .assert_contains("Check your email");
    let link = server
        .mail
        .wait_for(email, "Finish recovering your account")
        .link("/recover/finish");
    // The link works only in the browser that gave the password.
    let elsewhere = server.browser().get(&link);
    assert_eq!(elsewhere.status, 403);
    let confirm = b.get(&link);
    let token = common::field_value(&confirm.body, "token").unwrap();
    let setup = b.post_form("/recover/finish", &confirm.csrf(), &[("token", &token)]);
    setup.assert_path("/account/two-step/setup");
    server.mail.wait_for(email, "Your account was recovered");

    // The old browser was signed out; the log tells the story.
    old.get("/account").assert_path("/signin");
    b.get("/account/security-log")
        .assert_contains("Account recovery without the second factor started")
        .assert_contains("Account recovered");

    // Straight into a new authenticator: scan, code, mailed confirmation.
    let uri = scan_setup(&server, &b);
    let mut phone = Phone::new(&uri);
    b.submit(
        "/account/two-step/setup",
        "/account/two-step/setup/verify",
        &[("code", &phone.next_code())],
    )
    .assert_contains("Check your email");
    let confirm = b.get(
        &server
            .mail
            .wait_for(email, "Confirm turning on two-step verification")
            .link("/account/two-step/confirm"),
    );
    let token = common::field_value(&confirm.body, "token").unwrap();
    b.post_form(
        "/account/two-step/confirm",
        &confirm.csrf(),
        &[("token", &token)],
    )
    .assert_contains("Two-step verification is on");
    assert_ne!(secret_of(&uri), "", "a new secret");
}

#[test]
fn ssh_recover_in_a_terminal_waits_less_and_is_cancelled_over_ssh_by_a_link_and_by_a_code() {
    let server = server();
    let lee = account(&server, "lee");
    let git = Git::new(&server, "lee", &lee.key);
    let (mut phone, _) = enable_two_step(&server, &lee);
    let email = "lee@example.net";

    let command = format!(
        "{} -p {} git@127.0.0.1 recover",
        git.ssh_command(),
        server.ssh_port
    );
    let term = Terminal::run(server.data.path(), "recover", &command);
    let pane = term.wait_for("EXIT=");
    assert!(pane.contains("EXIT=0"), "{pane}");
    assert!(
        pane.contains("confirmed by your SSH key") && pane.contains("ready on"),
        "{pane}"
    );
    server.mail.wait_for(email, "Account recovery started");
    // Asking again says the same (one request at a time).
    let again = git.ssh(&["recover"], None);
    assert!(String::from_utf8_lossy(&again.stdout).contains("under way"));

    // Cancelled over SSH.
    let out = git.ssh(&["recover", "--cancel"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("cancelled"));
    server.mail.wait_for(email, "Account recovery cancelled");
    let out = git.ssh(&["recover", "--cancel"], None);
    assert!(String::from_utf8_lossy(&out.stderr).contains("No account recovery is under way"));

    // Started again; cancelled by the link in the mail.
    assert!(git.ssh(&["recover"], None).status.success());
    let link = server
        .mail
        .wait_for_nth(email, "Account recovery started", 2)
        .link("/recover/cancel");
    let b = server.browser();
    let page = b.get(&link);
    page.assert_contains("Cancel the recovery");
    let request = common::field_value(&page.body, "request").unwrap();
    let token = common::field_value(&page.body, "token").unwrap();
    b.post_form(
        "/recover/cancel",
        &page.csrf(),
        &[("request", &request), ("token", &token)],
    )
    .assert_contains("Recovery cancelled");
    let forged = b.post_form(
        "/recover/cancel",
        &page.csrf(),
        &[("request", &request), ("token", "00")],
    );
    assert_eq!(forged.status, 410);

    // Started a third time; the owner signing in with a code cancels it.
    assert!(git.ssh(&["recover"], None).status.success());
    let api = ApiClient::new(&server);
    api.ok(
        "POST",
        "/session",
        Some(json!({"login": "lee", "password": API_PASSWORD})),
    );
    api.ok(
        "POST",
        "/session/second-step",
        Some(json!({"code": phone.next_code()})),
    );
    server
        .mail
        .wait_for_nth(email, "Account recovery cancelled", 3);
    let log = api.ok("GET", "/user/security-log", None).to_string();
    assert!(log.contains("by signing in with a second factor"), "{log}");
    // A fourth start the same day is refused.
    let out = git.ssh(&["recover"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("too often today"));
}

#[test]
fn an_attacker_with_password_and_mailbox_is_stopped_by_the_owners_next_sign_in() {
    let server = server();
    let mia = account(&server, "mia");
    let (mut phone, _) = enable_two_step(&server, &mia);
    let email = "mia@example.net";
    // The attacker, over the API, with the password and the mailbox.
    let attacker = ApiClient::new(&server);
    attacker.ok(
        "POST",
        "/session",
        Some(json!({"login": "mia", "password": API_PASSWORD})),
    );
    assert_eq!(
        attacker.ok("GET", "/session/recovery", None)["state"],
        "none"
    );
    attacker.ok("POST", "/session/recovery", None);
    // The owner's mailbox is not flooded: one link per 10 minutes.
    let (status, body) = attacker.call("POST", "/session/recovery", None);
    assert_eq!(status, 429, "{body}");
    let link = server
        .mail
        .wait_for(email, "Start recovering your account")
        .link("/recover/start");
    let token = link.split("token=").nth(1).unwrap();
    let st = attacker.ok("POST", "/recovery/start", Some(json!({"token": token})));
    assert_eq!(st["state"], "waiting");
    assert_eq!(st["with_proof"], false);
    // The owner's API clients see it too.
    assert_eq!(
        mia.api.ok("GET", "/user", None)["recovery_ready_at"],
        st["ready_at"]
    );

    // The owner signs in with a code from the phone: the request ends.
    let owner = ApiClient::new(&server);
    owner.ok(
        "POST",
        "/session",
        Some(json!({"login": "mia", "password": API_PASSWORD})),
    );
    owner.ok(
        "POST",
        "/session/second-step",
        Some(json!({"code": phone.next_code()})),
    );
    server.mail.wait_for(email, "Account recovery cancelled");

    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(
        attacker.ok("GET", "/session/recovery", None)["state"],
        "none"
    );
    let (status, body) = attacker.call("POST", "/session/recovery/finish-link", None);
    assert_eq!(status, 409, "{body}");
    // The phone still works: nothing was changed.
    let owner = ApiClient::new(&server);
    owner.ok(
        "POST",
        "/session",
        Some(json!({"login": "mia", "password": API_PASSWORD})),
    );
    owner.ok(
        "POST",
        "/session/second-step",
        Some(json!({"code": phone.next_code()})),
    );
}

#[test]
fn a_browser_that_signed_in_before_waits_less() {
    let server = server();
    let TwoStepOn { b, mut phone, .. } = two_step_on_pages(&server, "noa");
    // A complete sign-in leaves the account's device cookie in the browser,
    // which keeps it when signed out.
    common::pages::sign_out(&b);
    let second = sign_in_password(&b, "noa");
    b.post_form(
        "/signin/second-step",
        &second.csrf(),
        &[("code", &phone.next_code())],
    )
    .assert_path("/");
    common::pages::sign_out(&b);
    let started = start_on_pages(&server, &b, "noa", "noa@example.com");
    started.assert_contains("This browser has signed in to the account before");
    std::thread::sleep(Duration::from_secs(3));
    b.get("/signin/recover").assert_contains("is ready");
}

/// Waits that are not whole hours read as they are, on the page and in the
/// mail that starts the recovery (not "1 hours", not "0 hours").
#[test]
fn waits_read_in_words_on_the_page_and_in_the_mail() {
    let server = Server::start_with(ServerOptions {
        args: [
            "--recovery-wait",
            "90m",
            "--recovery-wait-with-proof",
            "20s",
        ]
        .map(String::from)
        .to_vec(),
        ..ServerOptions::default()
    });
    two_step_on_pages(&server, "ray");
    let b = server.browser();
    sign_in_password(&b, "ray").assert_path("/signin/second-step");
    let page = b.get("/signin/recover");
    page.assert_contains("The wait is 90 minutes, or 20 seconds");
    assert!(!page.body.contains(" hours"), "{}", page.body);
    b.post_form("/signin/recover", &page.csrf(), &[])
        .assert_contains("Check your email");
    let mail = server
        .mail
        .wait_for("ray@example.com", "Start recovering your account");
    assert!(
        mail.raw.contains("a waiting period of 90 minutes"),
        "{}",
        mail.raw
    );
    let help = b.get("/help/recovery");
    help.assert_contains("90 minutes")
        .assert_contains("20 seconds");
}
