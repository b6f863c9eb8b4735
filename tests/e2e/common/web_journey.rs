//! The two-step journey of a new user, clicked through the pages in Chromium.

use super::browser::Chromium;
use super::otp::{spaced, Phone};
use super::{recovery_codes_in, ssh_keygen, Server};

/// The server's pages as the browser reaches them (`localhost`, a host name).
pub fn localhost(server: &Server, path: &str) -> String {
    format!("{}{path}", server.base.replace("127.0.0.1", "localhost"))
}

pub fn sign_in_with_password(server: &Server, web: &Chromium, name: &str, password: &str) {
    web.goto(&localhost(server, "/signin"));
    web.type_into("#login", name);
    web.type_into("#password", password);
    web.click("form[action='/signin'] button");
    web.wait_for_text("Enter the 6-digit code");
}

pub fn sign_out(web: &Chromium) {
    web.click("form[action='/signout'] button");
    web.wait_for_text("You are signed out.");
}

/// Sign up on the page, confirm the mail, add an SSH key: the two-step
/// checklist is done.
pub fn ready_for_two_step(server: &Server, web: &Chromium, name: &str, password: &str) {
    let email = format!("{name}@example.com");
    web.goto(&localhost(server, "/signup"));
    web.screenshot("signup");
    web.type_into("#username", name);
    web.type_into("#email", &email);
    web.type_into("#password", "short");
    // The browser's own minlength check stops a short password; remove it to see ours.
    web.script(
        "document.getElementById('password').removeAttribute('minlength');",
        serde_json::json!([]),
    );
    web.click("button[type=submit]");
    web.wait_for_text("Use at least 10 characters");
    web.screenshot("signup-error-next-to-field");
    web.type_into("#password", password);
    web.click("button[type=submit]");
    web.wait_for_text("Check your email");
    web.screenshot("check-your-email-after-signup");

    web.goto(
        &server
            .mail
            .wait_for(&email, "Confirm your email address")
            .link("/confirm-email"),
    );
    web.wait_for_text("Finish creating your account");
    web.type_into("#password", password);
    web.click("button[type=submit]");
    web.wait_for_text("Email address confirmed");

    web.goto(&localhost(server, "/account/two-step"));
    web.wait_for_text("Before you start");
    web.screenshot("two-step-checklist");
    add_ssh_key_on_page(server, web, name, password);
    web.screenshot("ssh-keys");
}

/// Sign up, confirm the mail, add an SSH key, set up an authenticator from
/// the Key text (no scanning), turn two-step on by the mailed link, keep the
/// recovery codes, sign out and back in with a code. Screenshots on the way.
pub fn two_step_on(
    server: &Server,
    web: &Chromium,
    name: &str,
    password: &str,
) -> (Phone, Vec<String>) {
    let email = format!("{name}@example.com");
    ready_for_two_step(server, web, name, password);
    let (mut phone, codes) = authenticator_on(server, web, name, &email);

    sign_out(web);
    sign_in_with_password(server, web, name, password);
    let attrs = web.script(
        "const c = document.getElementById('code'); return [c.getAttribute('inputmode'), c.getAttribute('autocomplete')];",
        serde_json::json!([]),
    );
    assert_eq!(attrs, serde_json::json!(["numeric", "one-time-code"]));
    // The server's clock is in plain sight, for people whose phone clock drifts.
    web.wait_for_text("Server time:");
    web.type_into("#code", "000000");
    web.click("form[action='/signin/second-step'] button");
    web.wait_for_text("attempts left");
    web.screenshot("second-step-wrong-code");
    web.type_into("#code", &phone.next_code());
    web.click("form[action='/signin/second-step'] button");
    web.wait_for_text(&format!("Hello, {name}"));
    (phone, codes)
}

/// Adds a new SSH key on the SSH keys page (the last item of the
/// two-step checklist); the key's private half is NAME_browser_key in the
/// server's data folder.
pub fn add_ssh_key_on_page(server: &Server, web: &Chromium, name: &str, password: &str) {
    let (_, public) = ssh_keygen(server.data.path(), &format!("{name}_browser_key"));
    web.goto(&localhost(server, "/account/ssh-keys"));
    web.type_into("#title", "laptop");
    web.type_into("#key", &public);
    web.type_into("#confirm-password", password);
    web.click("form.stack:not(.confirm-box) button[type=submit]");
    web.wait_for_text("SSH key added.");
}

/// Sets up an authenticator from the Key text (no scanning) and turns
/// two-step on by the mailed link; the phone and the recovery codes shown.
pub fn authenticator_on(
    server: &Server,
    web: &Chromium,
    name: &str,
    email: &str,
) -> (Phone, Vec<String>) {
    web.goto(&localhost(server, "/account/two-step"));
    web.click("form[action='/account/two-step/setup'] button");
    web.wait_for_text("Can't scan it?");
    web.screenshot("setup-qr-code");
    let key = web.script(
        "return document.getElementById('key').innerText;",
        serde_json::json!([]),
    );
    let secret = key.as_str().unwrap().replace(' ', "");
    let mut phone = Phone::new(&format!(
        "otpauth://totp/twostep-test:{name}?secret={secret}&issuer=twostep-test"
    ));
    web.type_into("#code", &spaced(&phone.next_code()));
    web.click("form[action='/account/two-step/setup/verify'] button");
    web.wait_for_text("Check your email");

    web.goto(
        &server
            .mail
            .wait_for(email, "Confirm turning on")
            .link("/account/two-step/confirm"),
    );
    web.click("form[action='/account/two-step/confirm'] button");
    web.wait_for_text("This is the only time they are shown");
    web.screenshot("recovery-codes");
    let html = web.script(
        "return document.documentElement.outerHTML;",
        serde_json::json!([]),
    );
    let codes = recovery_codes_in(html.as_str().unwrap());
    assert_eq!(codes.len(), 6);

    (phone, codes)
}
