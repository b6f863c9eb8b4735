//! Security keys in headless Chromium with WebDriver virtual authenticators:
//! FIDO2 (ctap2) and old U2F-only (ctap1/u2f) keys, registration, sign-in,
//! confirmation of a security change, removal, and another account's key refused.

use crate::common;

use common::accounts::{account, enable_two_step, PASSWORD};
use common::browser::Chromium;
use common::otp::Phone;
use common::web_journey::{localhost, sign_in_with_password, sign_out, two_step_on};
use common::{Server, ServerOptions};

fn sign_in(server: &Server, web: &Chromium, name: &str) {
    sign_in_with_password(server, web, name, PASSWORD);
}

/// Adding a key is a security change: the page asks for a code first.
fn add_key(web: &Chromium, server: &Server, name: &str, phone: &mut Phone) {
    web.goto(&localhost(server, "/account/two-step"));
    web.wait_for_text("Changes on this page need you to confirm it is you");
    web.type_into("#box-code", &phone.next_code());
    web.click("form.confirm-box button");
    // Shown only once the page no longer asks for a confirmation.
    web.wait_for_text("not needed: you confirmed recently");
    assert!(!web
        .text()
        .contains("Changes on this page need you to confirm"));
    web.type_into("#key-name", name);
    web.click("#add-key");
    web.wait_for_text("Security key added");
    web.wait_for_text(name);
}

fn journey(protocol: &str, tag: &str) {
    let server = Server::start_with(ServerOptions {
        localhost: true,
        ..Default::default()
    });
    let name = format!("kate{tag}");
    let web = Chromium::start(&format!("security-key-{tag}"));
    let authenticator = web.add_security_key(protocol);
    // The whole two-step journey, clicked; then a key.
    let (mut phone, _codes) = two_step_on(&server, &web, &name, PASSWORD);
    add_key(&web, &server, "desk key", &mut phone);
    let kate_credentials = web.key_credentials(&authenticator);
    assert_eq!(kate_credentials.len(), 1);
    web.screenshot("security-key-added");
    server
        .mail
        .wait_for(&format!("{name}@example.com"), "A security key was added");

    // The API lists the key (a session made with a code).
    let api = common::api::ApiClient::new(&server);
    api.ok(
        "POST",
        "/session",
        Some(serde_json::json!({"login": name, "password": PASSWORD})),
    );
    api.ok(
        "POST",
        "/session/second-step",
        Some(serde_json::json!({"code": phone.next_code()})),
    );
    let listed = api.ok("GET", "/user/security-keys", None);
    assert_eq!(listed[0]["name"], "desk key", "{listed}");
    api.err(
        "POST",
        "/user/security-keys/nope/remove",
        Some(serde_json::json!({"code": "12345"})),
        422,
        "malformed_code",
    );

    // Sign out, sign in with the key instead of a code.
    sign_out(&web);
    sign_in(&server, &web, &name);
    web.wait_for_text("Or touch your security key");
    web.screenshot("second-step-with-key");
    web.click("#use-key");
    web.wait_for_text(&format!("Hello, {name}"));
    web.goto(&localhost(&server, "/account/security-log"));
    web.wait_for_text("security key \"desk key\"");

    // Another account's key is refused, with a message, and counted.
    let other = format!("lee{tag}");
    let lee = account(&server, &other);
    let (mut lee_phone, _) = enable_two_step(&server, &lee);
    let web2 = Chromium::start(&format!("security-key-{tag}-other"));
    web2.add_security_key(protocol);
    sign_in(&server, &web2, &other);
    web2.type_into("#code", &lee_phone.next_code());
    web2.click("form[action='/signin/second-step'] button");
    web2.wait_for_text(&format!("Hello, {other}"));
    add_key(&web2, &server, "lee's key", &mut lee_phone);
    sign_out(&web);
    sign_in(&server, &web, &other);
    // Kate's key answers lee's challenge (as a stolen or mixed-up key would).
    let answer = web.script_async(FOREIGN_KEY_JS, serde_json::json!([kate_credentials[0]]));
    assert_eq!(answer["status"], 401, "{answer}");
    let message = answer["body"]["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        message.contains("not registered to this account") && message.contains("attempts left"),
        "{answer}"
    );
    // Touching a key the account does not know: the page shows the
    // server's own sentence (counted too).
    web.goto(&localhost(&server, "/signin/second-step"));
    web.click("#use-key");
    web.wait_for_text("No registered security key answered");
    web.wait_for_text("(8 attempts left");
    web.goto(&localhost(&server, "/signin/second-step"));
    web.type_into("#code", "000000");
    web.click("form[action='/signin/second-step'] button");
    web.wait_for_text("(7 attempts left");
    web.screenshot("other-accounts-key-refused");

    // Back as kate: removing the key is confirmed with the key itself.
    web.goto(&localhost(&server, "/signin"));
    sign_in(&server, &web, &name);
    web.click("#use-key");
    web.wait_for_text(&format!("Hello, {name}"));
    // A key stands in for a code wherever a fresh second factor is asked for.
    web.goto(&localhost(&server, "/account/two-step/recovery-codes"));
    web.click("button[data-webauthn='confirm']");
    web.wait_for_text("Your new recovery codes");
    web.screenshot("codes-regenerated-with-key");
    // The key's confirmation still holds: one click removes it.
    web.goto(&localhost(&server, "/account/two-step"));
    web.click("#security-keys button.danger");
    web.wait_for_text("Security key removed.");
    assert!(!web.text().contains("desk key"));
    web.screenshot("security-key-removed");
    server
        .mail
        .wait_for(&format!("{name}@example.com"), "A security key was removed");
}

/// In the page: start lee's key sign-in, answer with the given credential id
/// (kate's), post it, and report what the server said.
const FOREIGN_KEY_JS: &str = r#"
const done = arguments[arguments.length - 1];
const credId = arguments[0];
const dec = (s) => { s = s.replace(/-/g, "+").replace(/_/g, "/"); while (s.length % 4) s += "=";
  const b = atob(s); const o = new Uint8Array(b.length); for (let i = 0; i < b.length; i++) o[i] = b.charCodeAt(i); return o.buffer; };
const enc = (buf) => { const a = new Uint8Array(buf); let s = ""; for (const x of a) s += String.fromCharCode(x);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""); };
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const post = (url, body) => fetch(url, { method: "POST", headers: { "content-type": "application/json", "x-csrf-token": csrf }, body: JSON.stringify(body) });
(async () => {
  const begun = await (await post("/signin/second-step/key/begin", {})).json();
  const pk = begun.options.publicKey;
  pk.challenge = dec(pk.challenge);
  pk.allowCredentials = [{ type: "public-key", id: dec(credId) }];
  const c = await navigator.credentials.get({ publicKey: pk });
  const r = await post("/signin/second-step/key/finish", { ceremony: begun.ceremony, credential: {
    id: c.id, rawId: enc(c.rawId), type: c.type, extensions: {},
    response: { authenticatorData: enc(c.response.authenticatorData), clientDataJSON: enc(c.response.clientDataJSON),
      signature: enc(c.response.signature), userHandle: null } } });
  done({ status: r.status, body: await r.json() });
})().catch((e) => done({ status: 0, body: String(e) }));
"#;

#[test]
fn fido2_security_key_in_chromium() {
    journey("ctap2", "fido2");
}

#[test]
fn u2f_security_key_in_chromium() {
    journey("ctap1/u2f", "u2f");
}
