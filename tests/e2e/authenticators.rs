//! Several authenticators per account, and a hardware token whose clock runs
//! fast, on the web pages and over the JSON API. The devices are oathtool and
//! pyotp; the QR codes are read by zbarimg.

use serde_json::json;

use crate::common;
use common::otp::{oathtool, pyotp, scan_qr, secret_of, settle, Phone};
use common::pages::{scan_setup, sign_in_password, sign_out, two_step_on_pages, TwoStepOn};
use common::{Browser, Server};

/// The action of the remove form in the table row that names `name`.
fn remove_action(html: &str, table: &str, name: &str) -> String {
    let doc = scraper::Html::parse_document(html);
    let rows = scraper::Selector::parse(&format!("table#{table} tbody tr")).unwrap();
    let form = scraper::Selector::parse("form").unwrap();
    doc.select(&rows)
        .find(|r| r.text().collect::<String>().contains(name))
        .and_then(|r| r.select(&form).next())
        .and_then(|f| f.value().attr("action"))
        .unwrap_or_else(|| panic!("no row for {name} in table#{table}"))
        .to_string()
}

/// The authenticators listed, sorted (two added in one second list in either order).
fn names_in(html: &str) -> Vec<String> {
    let mut names = common::texts(html, "table#authenticators tbody td[data-label=Name]");
    names.sort();
    names
}

/// Adds an authenticator named `name` on the pages, confirmed with `code`;
/// returns the otpauth URI read from its QR code.
fn add_on_pages(server: &Server, b: &Browser, name: &str, code: &str) -> String {
    b.submit(
        "/account/two-step",
        "/account/two-step/authenticators",
        &[("name", name), ("code", code)],
    )
    .assert_path("/account/two-step/setup")
    .assert_contains(&format!("Add “{name}”"))
    .assert_contains("hardware TOTP token");
    scan_setup(server, b)
}

fn sign_in_with(b: &Browser, login: &str, code: &str) -> common::Page {
    let second = sign_in_password(b, login);
    second.assert_path("/signin/second-step");
    b.post_form("/signin/second-step", &second.csrf(), &[("code", code)])
}

#[test]
fn a_second_authenticator_signs_in_and_either_can_be_removed_but_not_the_last() {
    let server = Server::start();
    let TwoStepOn {
        b,
        uri,
        codes,
        phone,
        ..
    } = two_step_on_pages(&server, "carol");
    let mut phone = phone.using_pyotp();
    // The hardware token is programmed from the second QR code; oathtool plays it.
    let token_uri = add_on_pages(&server, &b, "blue token", &phone.next_code());
    assert_ne!(secret_of(&token_uri), secret_of(&uri), "a new secret");
    let mut token = Phone::oathtool(&token_uri);
    let page = b.submit(
        "/account/two-step/setup",
        "/account/two-step/setup/verify",
        &[("code", &token.next_code())],
    );
    page.assert_path("/account/two-step")
        .assert_contains("Authenticator added.");
    assert_eq!(names_in(&page.body), ["Authenticator app", "blue token"]);
    server
        .mail
        .wait_for("carol@example.com", "An authenticator was added");

    // Either device signs in; each keeps its own replay guard.
    sign_out(&b);
    sign_in_with(&b, "carol", &token.next_code()).assert_path("/");
    sign_out(&b);
    sign_in_with(&b, "carol", &phone.next_code()).assert_path("/");

    // Removing needs a fresh factor: confirm (a recovery code here), then
    // remove the phone's app.
    let page = b.get("/account/two-step");
    let action = remove_action(&page.body, "authenticators", "Authenticator app");
    b.post_form(&action, &page.csrf(), &[])
        .assert_path("/account/confirm")
        .assert_contains("Confirm it is you");
    b.post_form(
        "/account/confirm",
        &page.csrf(),
        &[("code", &codes[1]), ("next", "/account/two-step")],
    )
    .assert_path("/account/two-step");
    let page = b.post_form(&action, &page.csrf(), &[]);
    page.assert_contains("Authenticator removed");
    assert_eq!(names_in(&page.body), ["blue token"]);
    server
        .mail
        .wait_for("carol@example.com", "An authenticator was removed");
    let log = b.get("/account/security-log");
    log.assert_contains("Authenticator added")
        .assert_contains("Authenticator removed");

    // The last second factor stays: the page says to turn two-step off instead.
    let action = remove_action(&page.body, "authenticators", "blue token");
    let last = b.post_form(&action, &page.csrf(), &[]);
    assert_eq!(last.status, 409);
    last.assert_contains("last second factor")
        .assert_contains("turn two-step verification off instead");
    assert_eq!(names_in(&last.body), ["blue token"]);

    // The removed app's codes no longer sign in; the token's and recovery codes do.
    sign_out(&b);
    let refused = sign_in_with(&b, "carol", &pyotp(&uri, settle()));
    assert_eq!(refused.status, 401, "{}", refused.body);
    refused.assert_contains("not right");
    b.post_form(
        "/signin/second-step",
        &refused.csrf(),
        &[("code", &token.next_code())],
    )
    .assert_path("/");
    sign_out(&b);
    sign_in_with(&b, "carol", &codes[0]).assert_path("/");
}

#[test]
fn a_token_running_four_minutes_fast_is_resynchronised_by_two_consecutive_codes() {
    let server = Server::start();
    let TwoStepOn { b, phone, .. } = two_step_on_pages(&server, "dave");
    let mut phone = phone.using_pyotp();
    let token_uri = add_on_pages(&server, &b, "desk token", &phone.next_code());
    let secret = secret_of(&token_uri);
    // Programmed and checked while its clock was right…
    let t = settle();
    b.submit(
        "/account/two-step/setup",
        "/account/two-step/setup/verify",
        &[("code", &oathtool(&secret, t))],
    )
    .assert_contains("Authenticator added.");

    // …then its clock ran 4 minutes fast: the code is refused, and the page
    // asks for the token's next code.
    sign_out(&b);
    let t = settle();
    let fast_step = (t + 240) / 30;
    let refused = sign_in_with(&b, "dave", &oathtool(&secret, t + 240));
    assert_eq!(refused.status, 401, "{}", refused.body);
    refused
        .assert_contains("about 4 minutes ahead of the server")
        .assert_contains("next code")
        .assert_contains("attempts left")
        .assert_contains("Server time:");
    // Its next code resynchronises it and signs in.
    let next = oathtool(&secret, (fast_step + 1) * 30 + 1);
    b.post_form("/signin/second-step", &refused.csrf(), &[("code", &next)])
        .assert_path("/");
    b.get("/account/security-log")
        .assert_contains("resynchronised")
        .assert_contains("Wrong two-step code");

    // From now on the token is accepted at its drift, without a resync.
    sign_out(&b);
    let after = oathtool(&secret, (fast_step + 2) * 30 + 1);
    sign_in_with(&b, "dave", &after).assert_path("/");

    // A code far away (10 minutes) is simply wrong, and a wrong "next code"
    // after a near miss is a wrong code too.
    sign_out(&b);
    let t = settle();
    let far = sign_in_with(&b, "dave", &oathtool(&secret, t + 600 + 240));
    assert_eq!(far.status, 401);
    assert!(!far.body.contains("ahead of the server"), "{}", far.body);
}

#[test]
fn authenticators_are_added_and_removed_over_the_api() {
    let server = Server::start();
    let a = common::accounts::account(&server, "erin");
    let (mut phone, _codes) = common::accounts::enable_two_step(&server, &a);
    let setup = a.api.ok(
        "POST",
        "/user/two-step/authenticators",
        Some(json!({"name": "spare phone", "code": phone.next_code()})),
    );
    assert_eq!(setup["purpose"], "add");
    assert_eq!(setup["name"], "spare phone");
    let svg = server.data.path().join("erin-spare.svg");
    std::fs::write(&svg, setup["qr_svg"].as_str().unwrap()).unwrap();
    let mut spare = Phone::oathtool(&scan_qr(&svg));
    let done = a.api.ok(
        "POST",
        "/user/two-step/setup/verify",
        Some(json!({"code": spare.next_code()})),
    );
    assert_eq!(done["status"], "added");
    let status = a.api.ok("GET", "/user/two-step", None);
    let apps = status["authenticators"].as_array().unwrap();
    assert_eq!(apps.len(), 2);
    let id_of = |name: &str| {
        apps.iter()
            .find(|a| a["name"] == name)
            .and_then(|a| a["id"].as_str())
            .unwrap_or_else(|| panic!("no {name} in {apps:?}"))
            .to_string()
    };
    // Added in the same second, the two may list in either order.
    let first = id_of("Authenticator app");
    let second = id_of("spare phone");

    // A name is required.
    let (code, body) = a.api.call(
        "POST",
        "/user/two-step/authenticators",
        Some(json!({"name": " "})),
    );
    assert_eq!(
        (code, body["error"]["field"].as_str()),
        (422, Some("name")),
        "{body}"
    );

    // The code opens the sudo window; the later calls need none.
    a.api.ok(
        "POST",
        &format!("/user/two-step/authenticators/{first}/remove"),
        Some(json!({"code": spare.next_code()})),
    );
    let (code, body) = a.api.call(
        "POST",
        &format!("/user/two-step/authenticators/{second}/remove"),
        Some(json!({})),
    );
    assert_eq!(code, 409, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("last second factor"));
    let (code, _) = a.api.call(
        "POST",
        "/user/two-step/authenticators/no-such-id/remove",
        Some(json!({})),
    );
    assert_eq!(code, 404);
    let status = a.api.ok("GET", "/user/two-step", None);
    assert_eq!(status["authenticators"].as_array().unwrap().len(), 1);
    // The removed phone's codes are refused now.
    let (code, _) = a.api.call(
        "POST",
        "/session/sudo",
        Some(json!({"code": phone.next_code()})),
    );
    assert_eq!(code, 401);
}
