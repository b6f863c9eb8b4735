//! Passkeys in headless Chromium with a virtual ctap2 authenticator that
//! keeps discoverable credentials and verifies its user: added on the
//! two-step page, then a sign-in with no username, password or code typed;
//! once removed, the same passkey is refused with a message.

use crate::common;

use common::accounts::PASSWORD;
use common::browser::Chromium;
use common::web_journey::{localhost, sign_out, two_step_on};
use common::{Server, ServerOptions};

fn confirm_with_code(web: &Chromium, server: &Server, code: &str) {
    web.goto(&localhost(server, "/account/two-step"));
    web.wait_for_text("Changes on this page need you to confirm it is you");
    web.type_into("#box-code", code);
    web.click("form.confirm-box button");
    web.wait_for_text("not needed: you confirmed recently");
}

#[test]
fn a_passkey_signs_in_with_no_username_password_or_code() {
    let server = Server::start_with(ServerOptions {
        localhost: true,
        ..Default::default()
    });
    let web = Chromium::start("passkeys");
    let authenticator = web.add_passkey_authenticator();
    let (mut phone, codes) = two_step_on(&server, &web, "pia", PASSWORD);

    confirm_with_code(&web, &server, &phone.next_code());
    web.type_into("#passkey-name", "laptop passkey");
    web.click("#add-passkey");
    web.wait_for_text("Passkey added");
    let row = web.find("#security-keys tbody tr");
    assert!(!row.is_empty());
    let listed = web.text();
    assert!(
        listed.contains("laptop passkey") && listed.contains("passkey"),
        "{listed}"
    );
    web.screenshot("passkey-added");
    let held = web.credentials(&authenticator);
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0]["isResidentCredential"], true, "{held:?}");
    server
        .mail
        .wait_for("pia@example.com", "A passkey was added");

    // Signed out: the sign-in page it lands on offers the passkey in the
    // username field's autofill (conditional UI), which the virtual
    // authenticator accepts at once: signed in with nothing typed or clicked.
    // (No navigation meanwhile: it would cut the ceremony in half; nor a
    // wait for the signed-out notice, which may be gone already.)
    web.click("form[action='/signout'] button");
    web.wait_for_text("Hello, pia");
    web.screenshot("signed-in-by-passkey-autofill");
    web.goto(&localhost(&server, "/account/security-log"));
    web.wait_for_text("Signed in with a passkey");
    web.wait_for_text("passkey \"laptop passkey\"");

    // Removed from the account, the passkey the browser still holds is
    // refused, by the autofill and by the button, and the page says why.
    // A recovery code: the phone's next code may be a step away.
    confirm_with_code(&web, &server, &codes[0]);
    web.click("#security-keys button.danger");
    web.wait_for_text("Security key removed.");
    server
        .mail
        .wait_for("pia@example.com", "A passkey was removed");
    sign_out(&web);
    let autocomplete = web.script(
        "return document.getElementById('login').getAttribute('autocomplete');",
        serde_json::json!([]),
    );
    assert_eq!(autocomplete, "username webauthn");
    web.wait_for_text("That passkey is not registered here");
    web.script(
        "document.getElementById('passkey-error').textContent = '';",
        serde_json::json!([]),
    );
    web.click("#use-passkey");
    web.wait_for_text("That passkey is not registered here");
    web.screenshot("passkey-not-registered");
    assert!(!web.text().contains("Hello, pia"));
}

/// The password-less sign-in stores a challenge per start, before anyone is
/// known: one address may hold 50 at once, then it is told the server is busy
/// (and nobody else's sign-in is crowded out).
#[test]
fn one_address_cannot_fill_the_passkey_challenges() {
    let server = Server::start_with(ServerOptions {
        localhost: true,
        ..Default::default()
    });
    let web = server.browser();
    let csrf = web.get("/signin").csrf();
    let statuses: Vec<u16> = (0..60)
        .map(|_| {
            web.client
                .post(server.url("/signin/passkey/begin"))
                .header("x-csrf-token", &csrf)
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .unwrap()
                .status()
                .as_u16()
        })
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        50,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 503).count(),
        10,
        "{statuses:?}"
    );
    let r = web
        .client
        .post(server.url("/signin/passkey/begin"))
        .header("x-csrf-token", &csrf)
        .body("{}")
        .send()
        .unwrap();
    let body: serde_json::Value = r.json().unwrap();
    assert_eq!(body["error"]["code"], "busy", "{body}");
}
