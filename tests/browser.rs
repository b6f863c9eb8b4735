//! The two-step journey clicked through the pages in headless Chromium,
//! with screenshots of the main pages (see the folder the test script prints).

mod common;

use common::browser::Chromium;
use common::otp::{oathtool, settle, spaced};
use common::{recovery_codes_in, ssh_keygen, Server};

const PASSWORD: &str = "sunlit-orchard-5520";

#[test]
fn the_two_step_journey_in_a_real_browser() {
    let server = Server::start();
    let web = Chromium::start("two-step-journey");

    web.goto(&server.url("/signup"));
    web.screenshot("signup");
    web.type_into("#username", "mallory");
    web.type_into("#email", "mallory@example.com");
    web.type_into("#password", "short");
    // The browser's own minlength check stops a short password; remove it to see ours.
    web.script(
        "document.getElementById('password').removeAttribute('minlength');",
        serde_json::json!([]),
    );
    web.click("button[type=submit]");
    web.wait_for_text("Use at least 10 characters");
    web.screenshot("signup-error-next-to-field");
    web.type_into("#password", PASSWORD);
    web.click("button[type=submit]");
    web.wait_for_text("We sent you an email");
    web.screenshot("account-after-signup");

    let link = server
        .mail
        .wait_for("mallory@example.com", "Confirm your email address")
        .link("/confirm-email");
    web.goto(&link);
    web.wait_for_text("Email address confirmed");

    web.goto(&server.url("/account/two-step"));
    web.wait_for_text("Before you start");
    web.screenshot("two-step-checklist");
    let (_, public) = ssh_keygen(server.data.path(), "mallory_key");
    web.goto(&server.url("/account/ssh-keys"));
    web.type_into("#title", "laptop");
    web.type_into("#key", &public);
    web.click("form.stack button[type=submit]");
    web.wait_for_text("SSH key added.");
    web.screenshot("ssh-keys");

    web.goto(&server.url("/account/two-step"));
    web.click("form[action='/account/two-step/setup'] button");
    web.wait_for_text("Can't scan it?");
    web.screenshot("setup-qr-code");
    // Scan-free: the Key text shown for manual entry, typed into an authenticator.
    let key = web.script(
        "return document.getElementById('key').innerText;",
        serde_json::json!([]),
    );
    let secret = key.as_str().unwrap().replace(' ', "");
    let t = settle();
    web.type_into("#code", &spaced(&oathtool(&secret, t)));
    web.click("form[action='/account/two-step/setup/verify'] button");
    web.wait_for_text("Check your email");

    let link = server
        .mail
        .wait_for("mallory@example.com", "Confirm turning on")
        .link("/account/two-step/confirm");
    web.goto(&link);
    web.click("form[action='/account/two-step/confirm'] button");
    let text = web.wait_for_text("This is the only time they are shown");
    web.screenshot("recovery-codes");
    let html = web.script(
        "return document.documentElement.outerHTML;",
        serde_json::json!([]),
    );
    let codes = recovery_codes_in(html.as_str().unwrap());
    assert_eq!(codes.len(), 6, "{text}");

    // Sign out, sign in with the next code: the input is numeric, one-time-code.
    web.click("form[action='/signout'] button");
    web.wait_for_text("You are signed out.");
    web.type_into("#login", "mallory");
    web.type_into("#password", PASSWORD);
    web.click("form[action='/signin'] button");
    web.wait_for_text("Enter the 6-digit code");
    let attrs = web.script(
        "const c = document.getElementById('code'); return [c.getAttribute('inputmode'), c.getAttribute('autocomplete')];",
        serde_json::json!([]),
    );
    assert_eq!(attrs, serde_json::json!(["numeric", "one-time-code"]));
    web.type_into("#code", "000000");
    web.click("form[action='/signin/second-step'] button");
    web.wait_for_text("attempts left");
    web.screenshot("second-step-wrong-code");
    web.type_into("#code", &oathtool(&secret, t + 30));
    web.click("form[action='/signin/second-step'] button");
    web.wait_for_text("Hello, mallory");

    web.goto(&server.url("/account/two-step"));
    web.wait_for_text("is on since");
    web.screenshot("two-step-on");
    web.goto(&server.url("/account/security-log"));
    web.wait_for_text("Two-step verification turned on");
    web.screenshot("security-log");
    web.goto(&server.url("/help/recovery"));
    web.screenshot("help-recovery");

    // Readable on a phone: no horizontal scrolling at 390 px.
    web.cmd(
        "POST",
        "/window/rect",
        serde_json::json!({"width": 390, "height": 844}),
    );
    web.goto(&server.url("/account/two-step"));
    let overflow = web.script(
        "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
        serde_json::json!([]),
    );
    assert_eq!(
        overflow,
        serde_json::json!(true),
        "the page scrolls sideways on a phone"
    );
    web.screenshot("two-step-on-phone");
}
