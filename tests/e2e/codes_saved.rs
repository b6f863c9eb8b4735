//! Proof that the recovery codes were saved (one, picked by the server, typed
//! back; it stays usable), and the mails when the list runs low and out.

use serde_json::json;

use crate::common;
use common::pages::{sign_in_password, sign_out, two_step_on_pages, TwoStepOn};
use common::{Browser, Server};

/// The number of the code the nag asks for, if the page nags.
fn nag(b: &Browser, path: &str) -> Option<usize> {
    let page = b.get(path);
    let text = common::texts(&page.body, "#codes-nag a")
        .into_iter()
        .next()?;
    text.split_whitespace()
        .find_map(|w| w.parse().ok())
        .or_else(|| panic!("no number in {text:?}"))
}

fn sign_in_with(b: &Browser, login: &str, code: &str) -> common::Page {
    let second = sign_in_password(b, login);
    second.assert_path("/signin/second-step");
    b.post_form("/signin/second-step", &second.csrf(), &[("code", code)])
}

#[test]
fn enabling_is_not_complete_until_a_recovery_code_is_typed_back() {
    let server = Server::start();
    let TwoStepOn {
        b,
        codes,
        mut phone,
        ..
    } = two_step_on_pages(&server, "frank");
    let n = nag(&b, "/account").expect("the account page nags");
    assert!((1..=6).contains(&n));
    assert_eq!(nag(&b, "/account/two-step"), Some(n));
    let form = b.get("/account/two-step/recovery-codes/saved");
    form.assert_contains(&format!(
        "type code number <strong id=\"code-number\">{n}</strong>"
    ));

    // Another code of the list is not the one asked for, and counts as a guess.
    let other = &codes[n % 6];
    let wrong = b.post_form(
        "/account/two-step/recovery-codes/saved",
        &form.csrf(),
        &[("code", other)],
    );
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    wrong
        .assert_contains(&format!("That is not code number {n} of your new list"))
        .assert_contains("attempts left");
    assert_eq!(nag(&b, "/account"), Some(n));

    // The right one, typed as people type it, finishes the setup.
    let typed = codes[n - 1].to_uppercase().replace('-', " ");
    b.post_form(
        "/account/two-step/recovery-codes/saved",
        &form.csrf(),
        &[("code", &typed)],
    )
    .assert_path("/account/two-step")
    .assert_contains("your recovery codes are saved");
    assert_eq!(nag(&b, "/account"), None);
    b.get("/account/security-log")
        .assert_contains("Saving of the new recovery codes confirmed");

    // It was not used up: it still signs in.
    sign_out(&b);
    sign_in_with(&b, "frank", &codes[n - 1]).assert_path("/");

    // New codes: the nag is back, for a code of the new list.
    let page = b.get("/account/two-step/recovery-codes");
    let fresh = b.post_form(
        "/account/two-step/recovery-codes",
        &page.csrf(),
        &[("code", &phone.next_code())],
    );
    fresh.assert_contains("Your new recovery codes");
    let m = nag(&b, "/account").expect("nags again after new codes");
    fresh.assert_contains(&format!("<strong id=\"code-number\">{m}</strong>"));
}

#[test]
fn the_api_tells_which_code_to_type_back() {
    let server = Server::start();
    let a = common::accounts::account(&server, "gina");
    let (_phone, codes) = common::accounts::enable_two_step(&server, &a);
    let st = a.api.ok("GET", "/user/two-step", None);
    let n = st["recovery_code_to_type"].as_u64().expect("a number") as usize;
    let (status, body) = a.api.call(
        "POST",
        "/user/two-step/recovery-codes/saved",
        Some(json!({"code": codes[n % 6]})),
    );
    assert_eq!(status, 401, "{body}");
    let done = a.api.ok(
        "POST",
        "/user/two-step/recovery-codes/saved",
        Some(json!({"code": codes[n - 1]})),
    );
    assert_eq!(done["status"], "confirmed");
    let st = a.api.ok("GET", "/user/two-step", None);
    assert!(st["recovery_code_to_type"].is_null(), "{st}");
    let (status, _) = a.api.call(
        "POST",
        "/user/two-step/recovery-codes/saved",
        Some(json!({"code": codes[n - 1]})),
    );
    assert_eq!(status, 409, "nothing left to confirm");
}

#[test]
fn the_owner_is_mailed_when_two_codes_are_left_and_when_the_last_is_used() {
    let server = Server::start();
    let TwoStepOn { b, codes, .. } = two_step_on_pages(&server, "hana");
    let email = "hana@example.com";
    for (i, code) in codes.iter().enumerate() {
        sign_out(&b);
        sign_in_with(&b, "hana", code).assert_path("/");
        let left = 5 - i;
        match left {
            2 => {
                let mail = server.mail.wait_for(email, "Only 2 recovery codes left");
                assert!(
                    mail.link("/account/two-step/recovery-codes")
                        .contains("/account/two-step/recovery-codes"),
                    "{}",
                    mail.raw
                );
                assert!(mail.raw.contains("recovery_codes"), "the SSH way too");
                assert!(
                    mail.raw.contains("Only 2 unused recovery codes remain."),
                    "{}",
                    mail.raw
                );
                assert!(
                    mail.raw.contains("ssh -t "),
                    "the hint hides what is typed: {}",
                    mail.raw
                );
            }
            1 => {
                let mail = server.mail.wait_for(email, "Only 1 recovery code left");
                assert!(
                    mail.raw.contains("Only 1 unused recovery code remains."),
                    "{}",
                    mail.raw
                );
            }
            0 => {
                server
                    .mail
                    .wait_for(email, "You used your last recovery code")
                    .link("/account/two-step/recovery-codes");
            }
            _ => {}
        }
    }
    assert_eq!(server.mail.count(email, "Only 1 recovery code left"), 1);
    assert_eq!(server.mail.count(email, "A recovery code was used"), 3);
}
