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
    web.wait_for_text("Passkey removed: it no longer signs in to this account.");
    assert!(!web.text().contains("Security key removed"));
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

/// The password-less sign-in starts before anyone is known, so a start must
/// cost the server nothing: it stores no row (the challenge comes back
/// sealed, bound to this browser's cookie), and another browser cannot
/// finish it.
#[test]
fn passkey_sign_in_starts_store_nothing_and_belong_to_their_browser() {
    let server = Server::start_with(ServerOptions {
        localhost: true,
        ..Default::default()
    });
    let begin = |web: &common::Browser, csrf: &str| -> serde_json::Value {
        let r = web
            .client
            .post(server.url("/signin/passkey/begin"))
            .header("x-csrf-token", csrf)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        r.json().unwrap()
    };
    let web = server.browser();
    let csrf = web.get("/signin").csrf();
    let starts: Vec<serde_json::Value> = (0..300).map(|_| begin(&web, &csrf)).collect();
    assert!(starts
        .iter()
        .all(|s| s["options"]["publicKey"]["challenge"].is_string()));
    let db = server.data_dir().join("twostep.db");
    let marks = std::process::Command::new("sqlite3")
        .arg(&db)
        .arg("SELECT COUNT(*) FROM ceremonies_done")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&marks.stdout).trim(), "0");
    let finish = |web: &common::Browser, csrf: &str, ceremony: &str| -> serde_json::Value {
        web.client
            .post(server.url("/signin/passkey/finish"))
            .header("x-csrf-token", csrf)
            .header("content-type", "application/json")
            .body(
                serde_json::json!({
                    "ceremony": ceremony,
                    "credential": {"id": "AAAA", "rawId": "AAAA", "type": "public-key",
                        "response": {"authenticatorData": "AAAA", "clientDataJSON": "AAAA",
                            "signature": "AAAA", "userHandle": "AAAA"}, "extensions": {}},
                })
                .to_string(),
            )
            .send()
            .unwrap()
            .json()
            .unwrap()
    };
    let ceremony = starts[0]["ceremony"].as_str().unwrap();
    // Its own browser gets as far as the passkey (unknown here)…
    let own = finish(&web, &csrf, ceremony);
    assert_eq!(own["error"]["code"], "unknown_passkey", "{own}");
    // …another browser not even that far.
    let other = server.browser();
    let other_csrf = other.get("/signin").csrf();
    let stolen = finish(&other, &other_csrf, ceremony);
    assert_eq!(stolen["error"]["code"], "conflict", "{stolen}");
    let made_up = finish(&web, &csrf, "bm90IGEgY2VyZW1vbnk");
    assert_eq!(made_up["error"]["code"], "conflict", "{made_up}");
}
