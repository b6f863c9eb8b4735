//! Story helpers on the web pages (a reqwest browser): sign up, SSH key,
//! two-step turned on from the scanned QR code.

use super::otp::{oathtool, pyotp, scan_qr, secret_of, settle, spaced, Phone};
use super::{recovery_codes_in, ssh_keygen, Browser, Server};
use crate::common;

pub const PASSWORD: &str = "correct-horse-battery-42";

/// Signs up `name` and confirms the mailed link; returns the signed-in browser.
pub fn sign_up_confirmed(server: &Server, name: &str) -> Browser {
    let b = server.browser();
    let email = format!("{name}@example.com");
    b.submit(
        "/signup",
        "/signup",
        &[
            ("username", name),
            ("email", &email),
            ("password", PASSWORD),
        ],
    )
    .assert_contains("Check your email");
    let mail = server.mail.wait_for(&email, "Confirm your email address");
    // Opening the link asks for the password chosen at sign-up; then the
    // account is made and this browser signed in.
    let link = mail.link("/confirm-email");
    let token = link.split("token=").nth(1).unwrap().to_string();
    b.submit(
        &link,
        "/confirm-email",
        &[("token", &token), ("password", PASSWORD)],
    )
    .assert_contains("Email address confirmed");
    b.get("/account").assert_path("/account");
    b
}

pub fn add_ssh_key(server: &Server, b: &Browser, name: &str) -> String {
    let (_, public) = ssh_keygen(server.data.path(), name);
    b.submit(
        "/account/ssh-keys",
        "/account/ssh-keys",
        &[
            ("title", "laptop"),
            ("key", &public),
            ("password", PASSWORD),
        ],
    )
    .assert_contains("SSH key added.");
    public
}

/// Starts the setup, reads the QR code like a phone and checks the Key text; returns the otpauth URI.
pub fn scan_setup(server: &Server, b: &Browser) -> String {
    let page = b.get("/account/two-step/setup");
    page.assert_contains("Account").assert_contains("Key");
    let (status, svg, content_type) = b.get_bytes("/account/two-step/setup/qr.svg");
    assert_eq!((status, content_type.as_str()), (200, "image/svg+xml"));
    let file = server.data.path().join(format!("qr-{}.svg", rand_suffix()));
    std::fs::write(&file, svg).unwrap();
    let uri = scan_qr(&file);
    assert!(uri.starts_with("otpauth://totp/twostep-test:"), "{uri}");
    assert!(
        uri.contains("issuer=twostep-test")
            && uri.contains("digits=6")
            && uri.contains("period=30"),
        "{uri}"
    );
    let secret = secret_of(&uri);
    assert_eq!(secret.len(), 32, "a 160-bit secret is 32 base32 characters");
    let key_text = common::texts(&page.body, "code#key").remove(0);
    assert_eq!(
        key_text.replace(' ', ""),
        secret,
        "the Key shown for manual entry is the QR code's secret"
    );
    uri
}

pub fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

pub fn sign_in_password(b: &Browser, login: &str) -> common::Page {
    b.submit(
        "/signin",
        "/signin",
        &[("login", login), ("password", PASSWORD)],
    )
}

pub fn sign_out(b: &Browser) {
    let csrf = b.get("/account").csrf();
    b.post_form("/signout", &csrf, &[])
        .assert_contains("You are signed out.");
}

/// Alice's account with two-step turned on through the pages.
pub struct TwoStepOn {
    pub b: Browser,
    pub phone: Phone,
    pub uri: String,
    pub codes: Vec<String>,
    /// The mailed confirmation token (used once).
    pub token: String,
    pub confirm_csrf: String,
}

/// Signs `name` up, adds an SSH key, sets two-step up from the scanned QR
/// code with codes from oathtool and pyotp, and follows the mailed link.
pub fn two_step_on_pages(server: &Server, name: &str) -> TwoStepOn {
    let b = sign_up_confirmed(server, name);
    add_ssh_key(server, &b, &format!("{name}_key"));
    let email = format!("{name}@example.com");
    // Setup: QR code read by zbarimg, codes from oathtool.
    b.submit("/account/two-step", "/account/two-step/setup", &[])
        .assert_path("/account/two-step/setup");
    let uri = scan_setup(server, &b);
    let secret = secret_of(&uri);
    let wrong = b.submit(
        "/account/two-step/setup",
        "/account/two-step/setup/verify",
        &[("code", "000000")],
    );
    assert_eq!(wrong.status, 422);
    wrong.assert_contains("That code does not match");
    let t = settle();
    assert_eq!(
        oathtool(&secret, t),
        pyotp(&uri, t),
        "two independent authenticators agree"
    );
    let mut phone = Phone::new(&uri);
    let code = phone.next_code();
    b.submit(
        "/account/two-step/setup",
        "/account/two-step/setup/verify",
        &[("code", &spaced(&code))],
    )
    .assert_contains("Check your email")
    .assert_contains(&email);
    assert!(
        b.get("/account")
            .body
            .contains("<span class=\"warn\">off</span>"),
        "two-step stays off until the mailed link is followed"
    );

    // The mailed link turns it on and shows 6 recovery codes once.
    let mail = server
        .mail
        .wait_for(&email, "Confirm turning on two-step verification");
    let confirm = b.get(&mail.link("/account/two-step/confirm"));
    confirm.assert_contains("Turn on two-step verification");
    let token = common::field_value(&confirm.body, "token").unwrap();
    let codes_page = b.post_form(
        "/account/two-step/confirm",
        &confirm.csrf(),
        &[("token", &token)],
    );
    codes_page
        .assert_contains("Two-step verification is on")
        .assert_contains("only time they are shown");
    let codes = recovery_codes_in(&codes_page.body);
    assert_eq!(codes.len(), 6, "{}", codes_page.body);
    let (status, txt, ct) = b.get_bytes("/account/two-step/recovery-codes.txt");
    assert_eq!(status, 200);
    assert!(ct.starts_with("text/plain"));
    let txt = String::from_utf8(txt).unwrap();
    for c in &codes {
        assert!(txt.contains(c.as_str()), "download holds every code");
    }
    let print = b.get("/account/two-step/recovery-codes/print");
    print.assert_contains(&codes[0]).assert_contains("Print");
    server.mail.wait_for(&email, "Two-step verification is on");
    b.get("/account/two-step")
        .assert_contains("is <strong>on</strong>")
        .assert_contains("<strong id=\"codes-remaining\">6</strong>");
    // The same link cannot be used twice.
    let again = b.post_form(
        "/account/two-step/confirm",
        &confirm.csrf(),
        &[("token", &token)],
    );
    assert!(
        again.status >= 400,
        "second use of the link: {}",
        again.status
    );

    TwoStepOn {
        b,
        phone,
        uri,
        codes,
        token,
        confirm_csrf: confirm.csrf(),
    }
}
