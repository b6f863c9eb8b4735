//! Phishing-resistant factors first: two-step turned on with a security key
//! or a passkey alone (no authenticator app), in headless Chromium with
//! CTAP2 virtual authenticators (without resident keys for a security key,
//! with them for a passkey).

use crate::common;

use common::accounts::PASSWORD;
use common::browser::Chromium;
use common::web_journey::{localhost, ready_for_two_step};
use common::{recovery_codes_in, Server, ServerOptions};

/// On the two-step page of an account with two-step off: confirm with the
/// password, register the key (`button`: #add-key or #add-passkey), open the
/// mailed link; the recovery codes shown.
fn turn_on_with(server: &Server, web: &Chromium, name: &str, button: &str) -> Vec<String> {
    let email = format!("{name}@example.com");
    web.goto(&localhost(server, "/account/two-step"));
    web.wait_for_text("Or use a security key or passkey");
    web.screenshot("two-step-off-offers-keys");
    // Adding the SSH key (with the password) opened the confirmation
    // window already; once it closes, the page asks for the password.
    if web.has("#box-password") {
        web.type_into("#box-password", PASSWORD);
        web.click("form.confirm-box button");
    }
    web.wait_for_text("You confirmed it is you a moment ago");
    let field = if button == "#add-key" {
        "#key-name"
    } else {
        "#passkey-name"
    };
    web.type_into(field, "first key");
    web.click(button);
    web.wait_for_text("Your key is registered. We sent a confirmation link");
    let page = web.text();
    assert!(page.contains("is off"), "not on before the link: {page}");
    let mail = server.mail.wait_for(&email, "Confirm turning on");
    assert!(mail.raw.contains("is registered"), "{}", mail.raw);
    web.goto(&mail.link("/account/two-step/confirm"));
    web.click("form[action='/account/two-step/confirm'] button");
    web.wait_for_text("This is the only time they are shown");
    web.screenshot("recovery-codes-after-key");
    let html = web.script(
        "return document.documentElement.outerHTML;",
        serde_json::json!([]),
    );
    let codes = recovery_codes_in(html.as_str().unwrap_or_default());
    assert_eq!(codes.len(), 6);
    let on = server.mail.wait_for(&email, "Two-step verification is on");
    assert!(on.raw.contains("security key or passkey"), "{}", on.raw);
    // The proof the codes were saved, as with an app.
    let n: usize = web
        .script(
            "return document.getElementById('code-number').textContent;",
            serde_json::json!([]),
        )
        .as_str()
        .and_then(|t| t.trim().parse().ok())
        .expect("a code number to type back");
    web.type_into("#saved-code", &codes[n - 1]);
    web.click("form[action='/account/two-step/recovery-codes/saved'] button");
    web.wait_for_text("your recovery codes are saved");
    codes
}

fn server() -> Server {
    Server::start_with(ServerOptions {
        localhost: true,
        ..Default::default()
    })
}

#[test]
fn two_step_turns_on_with_a_security_key_alone() {
    let server = server();
    let web = Chromium::start("key-only-two-step");
    web.add_security_key("ctap2");
    let name = "keyonly";
    ready_for_two_step(&server, &web, name, PASSWORD);
    let codes = turn_on_with(&server, &web, name, "#add-key");
    web.goto(&localhost(&server, "/account/two-step"));
    web.wait_for_text("Two-step verification is on");
    assert!(!web.has("#authenticators tbody tr"));

    // Signing in: the password, then the key leads (no code field).
    web.click("form[action='/signout'] button");
    web.wait_for_text("You are signed out.");
    web.goto(&localhost(&server, "/signin"));
    web.type_into("#login", name);
    web.type_into("#password", PASSWORD);
    web.click("form[action='/signin'] button");
    web.wait_for_text("Touch your security key");
    assert!(!web.has("#code"), "no app, no code field");
    web.screenshot("second-step-key-only");
    web.click("#use-key");
    web.wait_for_text(&format!("Hello, {name}"));

    // The last factor stays: removing it is refused, with the reason.
    web.goto(&localhost(&server, "/account/two-step"));
    web.click("button[data-webauthn='confirm']");
    web.wait_for_text("not needed: you confirmed recently");
    web.click("#security-keys button.danger");
    web.wait_for_text("This is the last second factor on your account");
    assert!(web.text().contains("first key"));

    // A recovery code still signs in in its place.
    web.click("form[action='/signout'] button");
    web.wait_for_text("You are signed out.");
    web.goto(&localhost(&server, "/signin"));
    web.type_into("#login", name);
    web.type_into("#password", PASSWORD);
    web.click("form[action='/signin'] button");
    web.wait_for_text("Touch your security key");
    web.click("details.recovery-switch summary");
    web.type_into("#recovery-code", &codes[5]);
    web.click("details.recovery-switch button");
    web.wait_for_text(&format!("Hello, {name}"));
}

#[test]
fn two_step_turns_on_with_a_passkey_alone() {
    let server = server();
    let web = Chromium::start("passkey-only-two-step");
    let authenticator = web.add_passkey_authenticator();
    let name = "passonly";
    ready_for_two_step(&server, &web, name, PASSWORD);
    turn_on_with(&server, &web, name, "#add-passkey");
    assert_eq!(web.credentials(&authenticator).len(), 1);
    // Signed out, the passkey signs in alone (the sign-in page's autofill).
    web.click("form[action='/signout'] button");
    web.wait_for_text(&format!("Hello, {name}"));
    web.goto(&localhost(&server, "/account/security-log"));
    web.wait_for_text("Signed in with a passkey");
}
