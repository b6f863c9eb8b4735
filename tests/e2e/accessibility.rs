//! Every page a user or an administrator sees, reached in Chromium the way
//! they reach it (signed out, half signed in, locked, setting two-step up,
//! recovering, approving, administering), checked by axe-core at a desktop
//! width and on an emulated phone: no serious or critical violation, no page
//! wider than the screen. The pages the router declares are all reached (a
//! new page is swept, or the test says which one it missed); links and
//! buttons reached with the Tab key show the site's own focus outline.

use std::collections::BTreeSet;

use serde_json::json;

use crate::admin::{cli_ok, sudo, two_step_user};
use crate::common;
use crate::oidc::{at_provider, start_with, OpenIdProvider};
use common::accounts::{account, enable_two_step, fresh_session, PASSWORD};
use common::axe::{focused_style, Sweep};
use common::browser::{Chromium, TAB};
use common::otp::{spaced, Phone};
use common::web_journey::{localhost, sign_in_with_password};
use common::Server;

/// Pages the router declares that are no page to check: files, and the
/// hops to and from a provider (they redirect at once).
const NOT_PAGES: [&str; 6] = [
    "/static/style.css",
    "/static/webauthn.js",
    "/account/two-step/setup/qr.svg",
    "/account/two-step/recovery-codes.txt",
    "/signin/oidc/{provider}",
    "/signin/oidc/{provider}/callback",
];

fn matches(pattern: &str, path: &str) -> bool {
    let (p, s): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), path.split('/').collect());
    p.len() == s.len()
        && p.iter()
            .zip(&s)
            .all(|(p, s)| p == s || (p.starts_with('{') && !s.is_empty()))
}

/// The HTML pages the router declares for GET.
fn declared_pages() -> Vec<String> {
    twostep_web::declared_routes()
        .into_iter()
        .filter(|d| {
            d.method == axum::http::Method::GET
                && d.surface == twostep_web::routes::Surface::Page
                && !NOT_PAGES.contains(&d.path.as_str())
        })
        .map(|d| d.path)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Signs in with the password and a recovery code (the phone's codes come
/// one per 30 s, and the sweep has several people to sign in).
fn sign_in(server: &Server, web: &Chromium, s: &mut Sweep, name: &str, recovery_code: &str) {
    sign_in_with_password(server, web, name, PASSWORD);
    s.check();
    web.click("details.recovery-switch summary");
    web.type_into("#recovery-code", recovery_code);
    s.check();
    web.click("details.recovery-switch button");
    web.wait_for_text(&format!("Hello, {name}"));
    s.check();
}

fn sign_out(web: &Chromium, s: &mut Sweep) {
    web.click("form[action='/signout'] button");
    web.wait_for_text("You are signed out.");
    s.check();
}

/// Confirms it is you with a code on the confirmation page (sudo).
fn confirm(server: &Server, web: &Chromium, s: &mut Sweep, code: &str, next: &str) {
    s.visit(&localhost(server, &format!("/account/confirm?next={next}")));
    web.wait_for_text("Confirm it is you");
    web.type_into("#code", code);
    web.click("form[action='/account/confirm'] button[type=submit]");
    wait_for_path(web, next);
    s.check();
}

/// Waits until the browser has left for `path` (a click returns before the
/// next page is there).
fn wait_for_path(web: &Chromium, path: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while web.script("return location.pathname;", json!([])) != json!(path) {
        assert!(
            std::time::Instant::now() < deadline,
            "never reached {path}: at {}\n{}",
            web.url(),
            web.text()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn sweep(phone: bool) {
    let (server, provider) =
        start_with(&["--recovery-wait", "2s", "--recovery-wait-with-proof", "1s"]);
    let name = if phone {
        "accessibility-phone"
    } else {
        "accessibility-desktop"
    };
    let web = if phone {
        Chromium::start_phone(name)
    } else {
        let web = Chromium::start(name);
        web.cmd(
            "POST",
            "/window/rect",
            json!({"width": 1280, "height": 900}),
        );
        web
    };
    let mut s = Sweep::new(&web, phone);
    let at = |path: &str| localhost(&server, path);

    // Signed out.
    for page in [
        "/",
        "/signin",
        "/password/forgot",
        "/help/recovery",
        "/help/security-keys",
        "/no-such-page",
        "/confirm-email?token=expired",
    ] {
        s.visit(&at(page));
    }

    // A new user signs up (a field error first), confirms the address, adds
    // an SSH key, sets an authenticator up from the Key text and turns
    // two-step on by the mailed link.
    s.visit(&at("/signup"));
    web.type_into("#username", "cyd");
    web.type_into("#email", "cyd@example.com");
    web.type_into("#password", "short");
    web.script(
        "document.getElementById('password').removeAttribute('minlength');",
        json!([]),
    );
    web.click("button[type=submit]");
    web.wait_for_text("Use at least 10 characters");
    s.check();
    web.type_into("#password", PASSWORD);
    web.click("button[type=submit]");
    web.wait_for_text("Check your email");
    s.check();
    s.visit(
        &server
            .mail
            .wait_for("cyd@example.com", "Confirm your email address")
            .link("/confirm-email"),
    );
    web.type_into("#password", PASSWORD);
    web.click("button[type=submit]");
    web.wait_for_text("Email address confirmed");
    s.check();
    s.visit(&at("/account/two-step"));
    s.visit(&at("/account/ssh-keys"));
    let (_, public) = common::ssh_keygen(server.data.path(), "cyd_key");
    web.type_into("#title", "laptop");
    web.type_into("#key", &public);
    web.type_into("#confirm-password", PASSWORD);
    web.click("form.stack:not(.confirm-box) button[type=submit]");
    web.wait_for_text("SSH key added.");
    s.check();
    s.visit(&at("/account/two-step"));
    web.click("form[action='/account/two-step/setup'] button");
    web.wait_for_text("Can't scan it?");
    s.check();
    let key = web.script(
        "return document.getElementById('key').innerText;",
        json!([]),
    );
    let secret = key.as_str().unwrap().replace(' ', "");
    let mut cyd = Phone::new(&format!(
        "otpauth://totp/twostep-test:cyd?secret={secret}&issuer=twostep-test"
    ));
    web.type_into("#code", &spaced(&cyd.next_code()));
    web.click("form[action='/account/two-step/setup/verify'] button");
    web.wait_for_text("Check your email");
    s.check();
    s.visit(
        &server
            .mail
            .wait_for("cyd@example.com", "Confirm turning on")
            .link("/account/two-step/confirm"),
    );
    web.click("form[action='/account/two-step/confirm'] button");
    web.wait_for_text("This is the only time they are shown");
    s.check();
    let cyd_codes = common::recovery_codes_in(
        web.script("return document.documentElement.outerHTML;", json!([]))
            .as_str()
            .unwrap(),
    );
    // Right after: the reminder to show that the codes were saved.
    s.visit(&at("/account/two-step"));
    web.find("#codes-nag");
    s.visit(&at("/account/two-step/recovery-codes/print"));
    s.visit(&at("/account/two-step/recovery-codes/saved"));
    for page in [
        "/",
        "/account",
        "/account/app-passwords",
        "/account/applications",
        "/account/password",
        "/account/security-log",
        "/account/sessions",
        "/account/sign-in-providers",
        "/account/two-step/tokens",
        "/account/two-step/disable",
        "/account/approve-ssh?token=expired",
        "/repositories",
        "/workspaces",
        "/no-such-page",
    ] {
        s.visit(&at(page));
    }
    confirm(
        &server,
        &web,
        &mut s,
        &cyd_codes[0],
        "/account/two-step/recovery-codes",
    );
    s.visit(&at("/account/email/confirm?token=expired"));
    sign_out(&web, &mut s);

    // An owner with a private repository, a workspace, an application
    // asking for consent and a device asking for approval.
    let (bob, mut bob_phone, bob_codes) = two_step_user(&server, "bob");
    sudo(&bob, &mut bob_phone);
    bob.api.ok(
        "POST",
        "/repositories",
        Some(json!({"name": "proj", "description": "Build scripts", "private": true})),
    );
    bob.api
        .ok("POST", "/workspaces", Some(json!({"name": "acme"})));
    let app = bob.api.ok(
        "POST",
        "/user/oauth-apps",
        Some(json!({"name": "ci-tool", "redirect_uris": [crate::oauth::REDIRECT], "confidential": false})),
    );
    let client_id = app["client_id"].as_str().unwrap().to_string();
    let device = reqwest::blocking::Client::new()
        .post(server.url("/oauth/device_authorization"))
        .form(&[
            ("client_id", client_id.as_str()),
            ("scope", "repository:read"),
        ])
        .send()
        .unwrap()
        .json::<serde_json::Value>()
        .unwrap();
    let user_code = device["user_code"].as_str().unwrap().to_string();
    sign_in(&server, &web, &mut s, "bob", &bob_codes[0]);
    for page in [
        "/repositories/bob/proj".to_string(),
        "/workspaces/acme".to_string(),
        format!(
            "/oauth/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=repository%3Aread&state=s1&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
            crate::oauth::REDIRECT
        ),
        "/oauth/device".to_string(),
        format!("/oauth/device?user_code={user_code}"),
    ] {
        s.visit(&at(&page));
    }
    // An email change: the link to the new address.
    bob.api.ok(
        "POST",
        "/user/email",
        Some(json!({"email": "bob@new.example.net"})),
    );
    s.visit(
        &server
            .mail
            .wait_for("bob@new.example.net", "Confirm your new email address")
            .link("/account/email/confirm"),
    );
    sign_out(&web, &mut s);

    // A locked second step: told at sign-in.
    let eve = account(&server, "eve");
    enable_two_step(&server, &eve);
    let api = common::api::ApiClient::new(&server);
    api.ok(
        "POST",
        "/session",
        Some(json!({"login": "eve", "password": PASSWORD})),
    );
    for _ in 0..10 {
        api.call(
            "POST",
            "/session/second-step",
            Some(json!({"code": "000000"})),
        );
    }
    sign_in_with_password(&server, &web, "eve", PASSWORD);
    web.find("#second-step-lock");
    s.check();
    web.cmd("DELETE", "/cookie", json!({}));
    // The unlock link is mailed only after 100 wrong codes in a row, across
    // many locks; its page shows the same form whatever the token.
    s.visit(&at("/unlock-second-step?token=from-the-mail"));
    s.visit(&at("/unlock-password-sign-in?token=from-the-mail"));

    // A forgotten password: the mailed link.
    account(&server, "dan");
    s.visit(&at("/password/forgot"));
    web.type_into("#email", "dan@example.net");
    web.click("form[action='/password/forgot'] button");
    web.wait_for_text("Check your email");
    s.check();
    s.visit(
        &server
            .mail
            .wait_for("dan@example.net", "Reset your password")
            .link("/password/reset"),
    );
    web.type_into("#password", "another-long-passphrase-9");
    web.click("form[action='/password/reset'] button");
    web.wait_for_text("Your password was changed");
    s.check();

    // Lost every second factor: recovery started from the second-step
    // page, cancelled or finished by the mailed links.
    let fay = account(&server, "fay");
    enable_two_step(&server, &fay);
    sign_in_with_password(&server, &web, "fay", PASSWORD);
    s.visit(&at("/signin/recover"));
    web.click("form[action='/signin/recover'] button");
    web.wait_for_text("Check your email");
    s.check();
    s.visit(
        &server
            .mail
            .wait_for("fay@example.net", "Start recovering your account")
            .link("/recover/start"),
    );
    web.click("form[action='/recover/start'] button");
    web.wait_for_text("Recovery started");
    s.check();
    s.visit(
        &server
            .mail
            .wait_for("fay@example.net", "Account recovery started")
            .link("/recover/cancel"),
    );
    std::thread::sleep(std::time::Duration::from_secs(3));
    s.visit(&at("/signin/recover"));
    web.click("form[action='/signin/recover/finish'] button");
    web.wait_for_text("Check your email");
    s.visit(
        &server
            .mail
            .wait_for("fay@example.net", "Finish recovering your account")
            .link("/recover/finish"),
    );
    web.cmd("DELETE", "/cookie", json!({}));

    // Administrators: one asks to reset another's two-step, which waits
    // for a second administrator.
    let (ada, mut ada_phone, ada_codes) = two_step_user(&server, "ada");
    let (_gus, _, _) = two_step_user(&server, "gus");
    cli_ok(&server, &["grant", "ada", "--reason", "first admin"]);
    cli_ok(&server, &["grant", "gus", "--reason", "second admin"]);
    let ada_api = fresh_session(&server, "ada", &mut ada_phone);
    ada_api.ok("POST", "/session/sudo", Some(json!({"code": ada_codes[0]})));
    ada_api.ok(
        "POST",
        "/admin/users/gus/two-step/reset",
        Some(json!({"reason": "Lost phone, called the help desk"})),
    );
    drop(ada);
    sign_in(&server, &web, &mut s, "ada", &ada_codes[1]);
    confirm(&server, &web, &mut s, &ada_codes[2], "/admin");
    for page in [
        "/admin",
        "/admin/users",
        "/admin/users/gus",
        "/admin/approvals",
        "/admin/audit",
    ] {
        s.visit(&at(page));
    }
    sign_out(&web, &mut s);

    // An account with no password, signed in by its provider: confirming
    // by the provider, and approving an SSH command by the mailed link.
    s.visit(&at("/signin"));
    web.click("#signin-corp");
    at_provider(&web, &provider, "pat");
    web.wait_for_text("Hello, pat");
    s.check();
    s.visit(&at("/account/ssh-keys"));
    web.click("#box-provider");
    web.wait_for_text("Confirm it is you");
    s.check();
    web.click("#confirm-with-corp");
    at_provider(&web, &provider, "pat");
    web.wait_for_text("Add a key");
    let (key, public) = common::ssh_keygen(server.data.path(), "pat_key");
    web.type_into("#title", "laptop");
    web.type_into("#key", &public);
    web.click("form.stack:not(.confirm-box) button[type=submit]");
    web.wait_for_text("SSH key added.");
    s.visit(&at("/account/sign-in-providers"));
    let git = common::git::Git::new(&server, "pat", &key);
    let typed = "copper-lantern-8812\ncopper-lantern-8812\n";
    let waiting = std::thread::spawn(move || git.ssh(&["password"], Some(typed)));
    s.visit(
        &server
            .mail
            .wait_for("pat@example.net", "Approve a request made over SSH")
            .link("/account/approve-ssh"),
    );
    web.click("#approve-ssh");
    web.wait_for_text("You approved");
    s.check();
    assert!(waiting.join().unwrap().status.success());

    let missed: Vec<String> = declared_pages()
        .into_iter()
        .filter(|p| !s.seen.iter().any(|seen| matches(p, seen)))
        .collect();
    assert!(
        missed.is_empty() && s.problems.is_empty(),
        "pages the sweep never reached: {missed:?}\n{} problems on {} pages:\n{}",
        s.problems.len(),
        s.seen.len(),
        s.report()
    );
    drop::<OpenIdProvider>(provider);
}

#[test]
fn every_page_passes_axe_at_desktop_width() {
    sweep(false);
}

#[test]
fn every_page_passes_axe_on_a_phone() {
    sweep(true);
}

/// Tab through a signed-in page: every link, button and summary the
/// keyboard reaches shows the site's focus outline (solid, at least 2 px),
/// not the browser's default ring.
#[test]
fn links_and_buttons_show_the_sites_own_focus_outline() {
    let server = Server::start_with(common::ServerOptions {
        localhost: true,
        ..Default::default()
    });
    let (_ann, mut phone, _) = two_step_user(&server, "ann");
    let web = Chromium::start("focus-outline");
    sign_in_with_password(&server, &web, "ann", PASSWORD);
    web.type_into("#code", &phone.next_code());
    web.click("form[action='/signin/second-step'] button");
    web.wait_for_text("Hello, ann");
    web.goto(&localhost(&server, "/account/two-step"));
    web.script("document.activeElement.blur();", json!([]));
    let mut seen = Vec::new();
    for _ in 0..40 {
        web.press(TAB);
        let f = focused_style(&web);
        let tag = f["tag"].as_str().unwrap_or_default().to_string();
        if !["a", "button", "summary"].contains(&tag.as_str()) {
            continue;
        }
        let width: f64 = f["width"]
            .as_str()
            .unwrap_or("0px")
            .trim_end_matches("px")
            .parse()
            .unwrap_or(0.0);
        assert!(
            f["style"] == "solid" && width >= 2.0,
            "the focused {tag} has no outline of the site's own: {f}"
        );
        seen.push(tag);
    }
    for tag in ["a", "button"] {
        assert!(seen.iter().any(|t| t == tag), "no {tag} reached: {seen:?}");
    }
}
