//! Phishing-resistant factors first: two-step turned on with a security key
//! or a passkey alone (no authenticator app), in headless Chromium with
//! CTAP2 virtual authenticators (without resident keys for a security key,
//! with them for a passkey); and the workspace ladder's top: a security key
//! or passkey of an allowed model, and sessions signed in with one, on the
//! pages, the API, SSH and HTTPS.

use crate::common;

use serde_json::json;

use common::accounts::{account, enable_two_step, fresh_session, PASSWORD};
use common::browser::Chromium;
use common::git::Git;
use common::web_journey::{
    localhost, ready_for_two_step, sign_in_with_password, sign_out, two_step_on,
};
use common::{recovery_codes_in, Server, ServerOptions};

/// The password of a key-only account: its second step leads with the key.
pub(crate) fn password_then_key_page(server: &Server, web: &Chromium, name: &str) {
    web.goto(&localhost(server, "/signin"));
    web.type_into("#login", name);
    web.type_into("#password", PASSWORD);
    web.click("form[action='/signin'] button");
    web.wait_for_text("Touch your security key");
}

/// On the two-step page of an account with two-step off: confirm with the
/// password, register the key (`button`: #add-key or #add-passkey), open the
/// mailed link; the recovery codes shown.
pub(crate) fn turn_on_with(
    server: &Server,
    web: &Chromium,
    name: &str,
    button: &str,
) -> Vec<String> {
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
    sign_out(&web);
    password_then_key_page(&server, &web, name);
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
    sign_out(&web);
    password_then_key_page(&server, &web, name);
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

/// GET `path` on the API: its status and message.
fn api_get(api: &common::api::ApiClient, path: &str) -> (u16, String) {
    let (status, body) = api.call("GET", path, None);
    (status, body.to_string())
}

/// Clicks "Confirm with a security key" and waits for the page that
/// follows (the sudo window may be open already: no text tells).
fn confirm_with_key(web: &Chromium) {
    web.script("window.beforeKey = true;", json!([]));
    web.click("#confirm-with-key button[data-webauthn='confirm']");
    for _ in 0..100 {
        let left = web.script("return window.beforeKey === undefined;", json!([]));
        if left == json!(true) {
            web.wait_for_text("Two-step verification");
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    panic!("the key confirmation did not finish: {}", web.text());
}

/// Submits the workspace page's policy form (the session is in sudo mode).
fn set_policy_on_page(
    server: &Server,
    web: &Chromium,
    level: &str,
    models: &str,
    code: Option<&str>,
) {
    web.goto(&localhost(server, "/workspaces/fort"));
    if let Some(code) = code {
        web.type_into("#policy-form input[name=code]", code);
    }
    web.click(&format!("#policy-form input[value='{level}']"));
    web.script(
        "document.getElementById('policy-models-field').value = arguments[0]; document.getElementById('grace-days').value = '0';",
        json!([models]),
    );
    web.click("#policy-form button[type=submit]");
}

#[test]
fn a_workspace_can_require_keys_of_allowed_models_and_sessions_signed_in_with_one() {
    let server = server();
    let dir = server.data.path().to_path_buf();
    // Mia, admin of fort: two-step with an authenticator app, in a browser.
    let web = Chromium::start("workspace-ladder");
    web.add_security_key("ctap2");
    let (mut phone, codes) = two_step_on(&server, &web, "mia", PASSWORD);
    let mia_api = fresh_session(&server, "mia", &mut phone);
    mia_api.ok("POST", "/workspaces", Some(json!({"name": "fort"})));
    mia_api.ok(
        "POST",
        "/workspaces/fort/repositories",
        Some(json!({"name": "vault"})),
    );
    // Wes, a member: two-step with an app, no key; Git over SSH and HTTPS.
    let wes = account(&server, "wes");
    let (mut wes_phone, wes_codes) = enable_two_step(&server, &wes);
    mia_api.ok(
        "POST",
        "/workspaces/fort/members",
        Some(json!({"username": "wes", "role": "write", "code": codes[1]})),
    );
    let wes_api = fresh_session(&server, "wes", &mut wes_phone);
    let token = wes_api.ok(
        "POST",
        "/user/app-passwords",
        Some(json!({"label": "ci", "scopes": ["repository:read"], "code": wes_phone.next_code()})),
    )["password"]
        .as_str()
        .unwrap()
        .to_string();
    let git = Git::new(&server, "wes", &wes.key);
    let over_ssh = || git.run(&["ls-remote", &git.ssh_url("fort", "vault")], None);
    let https = server
        .url("/fort/vault.git")
        .replace("http://", &format!("http://wes:{token}@"));
    let over_https = || git.run(&["ls-remote", &https], None);
    let err = |o: std::process::Output| String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(over_ssh().status.success(), "{}", err(over_ssh()));

    // An admin may not list models none of her keys is of: she has none yet.
    let other_model = "cb69481e-8ff7-4039-93ec-0a2729a154a8";
    set_policy_on_page(
        &server,
        &web,
        "phishing_resistant",
        other_model,
        Some(&codes[2]),
    );
    web.wait_for_text("Meet it yourself first: none of your security keys or passkeys");

    // Her key: the browser is asked for its model (she is an admin).
    web.goto(&localhost(&server, "/account/two-step"));
    if web.has("#box-code") {
        web.type_into("#box-code", &codes[3]);
        web.click("form.confirm-box button");
    }
    web.wait_for_text("not needed: you confirmed recently");
    web.type_into("#key-name", "desk key");
    web.click("#add-key");
    web.wait_for_text("Security key added");
    let keys = mia_api.ok("GET", "/user/security-keys", None);
    let model = keys[0]["model"].as_str().unwrap_or_default().to_string();
    assert_eq!(model.len(), 36, "the model was read: {keys}");
    // A key added by this session does not vouch for it (nor open sudo):
    // she signs in again with the key, then confirms with it.
    sign_out(&web);
    sign_in_with_password(&server, &web, "mia", PASSWORD);
    web.click("#use-key");
    web.wait_for_text("Hello, mia");
    web.goto(&localhost(&server, "/account/two-step"));
    confirm_with_key(&web);
    // A list without her key's model would lock her out: refused.
    set_policy_on_page(&server, &web, "phishing_resistant", other_model, None);
    web.wait_for_text("Meet it yourself first: none of your security keys or passkeys");
    let both = format!("{other_model}\n{model}");
    set_policy_on_page(&server, &web, "phishing_resistant", &both, None);
    web.wait_for_text("a security key or passkey");
    let page = web.wait_for_text("models:");
    assert!(page.contains(&model), "{page}");
    web.screenshot("workspace-requires-keys");
    server.mail.wait_for(
        "wes@example.net",
        "A workspace requires a security key or passkey",
    );

    // Wes has no key: refused on every channel, with the sentence.
    let no_key = "The workspace fort requires a security key or passkey";
    assert!(err(over_ssh()).contains(no_key), "{}", err(over_ssh()));
    assert!(err(over_https()).contains(no_key), "{}", err(over_https()));
    let (status, said) = api_get(&wes_api, "/workspaces/fort");
    assert_eq!(status, 403, "{said}");
    assert!(said.contains(no_key), "{said}");
    // Every page he sees carries the banner with what is asked.
    let wes_web = Chromium::start("workspace-ladder-member");
    sign_in_with_password(&server, &wes_web, "wes", PASSWORD);
    wes_web.type_into("#code", &wes_codes[0]);
    wes_web.click("form[action='/signin/second-step'] button");
    wes_web.wait_for_text("Hello, wes");
    wes_web.goto(&localhost(&server, "/account"));
    wes_web.wait_for_text("The workspace fort requires a security key or passkey from");
    wes_web.screenshot("workspace-key-banner");
    // Mia's key counts for Git, and her browser (signed in with it) sees
    // the workspace; her API session, signed in with a code, does not.
    let mia_git = Git::new(&server, "mia", &dir.join("mia_browser_key"));
    mia_git.ok(&["ls-remote", &mia_git.ssh_url("fort", "vault")], None);
    let (status, said) = api_get(&mia_api, "/workspaces/fort");
    assert_eq!(status, 403, "{said}");
    assert!(
        said.contains("requires signing in with a security key or passkey"),
        "{said}"
    );
    web.goto(&localhost(&server, "/workspaces/fort"));
    web.wait_for_text("vault");
    // A session signed in with a code (as a phishing proxy holds one) makes
    // no credential that would reach fort: she has a key and did not use it.
    let (status, said) = mia_api.call(
        "POST",
        "/user/app-passwords",
        Some(json!({"label": "phished", "scopes": ["repository:read"], "code": codes[4]})),
    );
    assert_eq!(status, 403, "{said}");
    assert!(
        said.to_string()
            .contains("are made only by a session signed in with one"),
        "{said}"
    );
}
