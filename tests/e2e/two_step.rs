//! The whole two-step lifecycle through the real binary, as a user does it on
//! the web pages: sign up, confirm mail, SSH key, QR setup read by zbarimg,
//! codes from oathtool and pyotp, mailed confirmation, recovery codes,
//! sign-in with a code, replays refused, regenerate, replace, disable.

use crate::common;

use common::otp::{secret_of, spaced, Phone};
use common::pages::{
    add_ssh_key, scan_setup, sign_in_password, sign_out, sign_up_confirmed, two_step_on_pages,
    TwoStepOn, PASSWORD,
};
use common::{recovery_codes_in, ssh_keygen_typed, Server};

#[test]
fn ssh_keys_on_the_web_pages_then_the_setup_is_offered() {
    let server = Server::start();
    let b = sign_up_confirmed(&server, "alice");

    // Checklist: setup is offered only once an SSH key exists.
    let page = b.get("/account/two-step");
    page.assert_contains("is <strong>off</strong>")
        .assert_contains("add one");
    assert!(!page.body.contains("Set up two-step verification</button>"));
    // A bad key and a private key get clear messages; a good one is listed with its fingerprint.
    b.submit(
        "/account/ssh-keys",
        "/account/ssh-keys",
        &[
            ("key", "ssh-ed25519 AAAAnotbase64!!"),
            ("password", PASSWORD),
        ],
    )
    .assert_contains("The key data is damaged");
    b.submit(
        "/account/ssh-keys",
        "/account/ssh-keys",
        &[
            ("key", "-----BEGIN OPENSSH PRIVATE KEY-----"),
            ("password", PASSWORD),
        ],
    )
    .assert_contains("looks like a private key");
    let public = add_ssh_key(&server, &b, "alice_key");
    let fp = common::ssh_fingerprint(&server.data.path().join("alice_key"));
    b.get("/account/ssh-keys").assert_contains(&fp);
    b.submit(
        "/account/ssh-keys",
        "/account/ssh-keys",
        &[("key", &public)],
    )
    .assert_contains("registered already");
    // ecdsa and rsa ≥ 2048 are accepted, small rsa is refused, a key can be removed.
    let (_, ecdsa) = ssh_keygen_typed(
        server.data.path(),
        "alice_ecdsa",
        &["-t", "ecdsa", "-b", "384"],
    );
    b.submit("/account/ssh-keys", "/account/ssh-keys", &[("key", &ecdsa)])
        .assert_contains("ecdsa-sha2-nistp384 (384 bits)");
    let (_, small) = ssh_keygen_typed(
        server.data.path(),
        "alice_rsa1024",
        &["-t", "rsa", "-b", "1024"],
    );
    b.submit("/account/ssh-keys", "/account/ssh-keys", &[("key", &small)])
        .assert_contains("at least 2048 bits; this one has 1024");
    let (rsa_path, rsa) = ssh_keygen_typed(
        server.data.path(),
        "alice_rsa",
        &["-t", "rsa", "-b", "3072"],
    );
    let keys = b.submit(
        "/account/ssh-keys",
        "/account/ssh-keys",
        &[("title", "old rsa"), ("key", &rsa)],
    );
    keys.assert_contains("ssh-rsa (3072 bits)");
    let rsa_fp = common::ssh_fingerprint(&rsa_path);
    // The remove form of the row that shows the RSA key's fingerprint.
    let doc = scraper::Html::parse_document(&keys.body);
    let rows = scraper::Selector::parse("table.list tbody tr").unwrap();
    let form = scraper::Selector::parse("form").unwrap();
    let action = doc
        .select(&rows)
        .find(|r| r.text().collect::<String>().contains(&rsa_fp))
        .and_then(|r| r.select(&form).next())
        .and_then(|f| f.value().attr("action"))
        .unwrap()
        .to_string();
    b.post_form(&action, &keys.csrf(), &[])
        .assert_contains("SSH key removed.");
    assert!(!b.get("/account/ssh-keys").body.contains(&rsa_fp));
    server
        .mail
        .wait_for("alice@example.com", "An SSH key was removed");
    let page = b.get("/account/two-step");
    page.assert_contains("Set up two-step verification</button>");
}

#[test]
fn two_step_turns_on_with_the_scanned_qr_code_and_a_mailed_link() {
    let server = Server::start();
    let on = two_step_on_pages(&server, "alice");
    let b = &on.b;
    let (status, txt, ct) = b.get_bytes("/account/two-step/recovery-codes.txt");
    assert_eq!(status, 200);
    assert!(ct.starts_with("text/plain"));
    let txt = String::from_utf8(txt).unwrap();
    for c in &on.codes {
        assert!(txt.contains(c.as_str()), "download holds every code");
    }
    let print = b.get("/account/two-step/recovery-codes/print");
    print.assert_contains(&on.codes[0]).assert_contains("Print");
    server
        .mail
        .wait_for("alice@example.com", "Two-step verification is on");
    b.get("/account/two-step")
        .assert_contains("is <strong>on</strong>")
        .assert_contains("<strong id=\"codes-remaining\">6</strong>");
    // The same link cannot be used twice.
    let again = b.post_form(
        "/account/two-step/confirm",
        &on.confirm_csrf,
        &[("token", &on.token)],
    );
    assert!(
        again.status >= 400,
        "second use of the link: {}",
        again.status
    );
}

#[test]
fn signing_in_with_codes_refusing_replays_and_using_recovery_codes_once() {
    let server = Server::start();
    let TwoStepOn {
        b,
        mut phone,
        codes,
        ..
    } = two_step_on_pages(&server, "alice");
    // Sign out and back in: password, then a code (typed with a space) from pyotp.
    sign_out(&b);
    let second = sign_in_password(&b, "alice");
    second
        .assert_path("/signin/second-step")
        .assert_contains("Server time:")
        .assert_contains("autocomplete=\"one-time-code\"");
    let code = phone.next_code();
    b.post_form(
        "/signin/second-step",
        &second.csrf(),
        &[("code", &spaced(&code))],
    )
    .assert_path("/");
    assert!(b
        .get("/account")
        .body
        .contains("<span class=\"ok\">on</span>"));

    // The same code, replayed in the same step, is refused (and not counted as a guess).
    sign_out(&b);
    let second = sign_in_password(&b, "alice");
    let replay = b.post_form("/signin/second-step", &second.csrf(), &[("code", &code)]);
    assert_eq!(replay.status, 422);
    replay.assert_contains("already been used");
    assert!(!replay.body.contains("attempts left"));

    // A recovery code works once.
    b.post_form(
        "/signin/second-step",
        &second.csrf(),
        &[("code", &codes[0].to_uppercase())],
    )
    .assert_path("/");
    server
        .mail
        .wait_for("alice@example.com", "A recovery code was used");
    sign_out(&b);
    let second = sign_in_password(&b, "alice");
    let reused = b.post_form(
        "/signin/second-step",
        &second.csrf(),
        &[("code", &codes[0])],
    );
    assert_eq!(reused.status, 401);
    reused.assert_contains("used already");
    b.post_form(
        "/signin/second-step",
        &second.csrf(),
        &[("code", &codes[1])],
    )
    .assert_path("/");
    b.get("/account/two-step/recovery-codes")
        .assert_contains("<strong id=\"codes-remaining\">4</strong>");

    // Regenerating needs a fresh factor (the next step's code) and voids the old set.
    let fresh = b.submit(
        "/account/two-step/recovery-codes",
        "/account/two-step/recovery-codes",
        &[("code", &phone.next_code())],
    );
    fresh.assert_contains("Your new recovery codes");
    let new_codes = recovery_codes_in(&fresh.body);
    assert_eq!(new_codes.len(), 6);
    server
        .mail
        .wait_for("alice@example.com", "New recovery codes were generated");
    sign_out(&b);
    let second = sign_in_password(&b, "alice");
    b.post_form(
        "/signin/second-step",
        &second.csrf(),
        &[("code", &codes[2])],
    )
    .assert_contains("used already");
    b.post_form(
        "/signin/second-step",
        &second.csrf(),
        &[("code", &new_codes[0])],
    )
    .assert_path("/");
}

#[test]
fn replacing_the_device_and_turning_two_step_off_leave_a_log_and_no_secret_in_clear() {
    let server = Server::start();
    let TwoStepOn {
        b,
        mut phone,
        uri,
        codes,
        token,
        ..
    } = two_step_on_pages(&server, "alice");
    let secret = secret_of(&uri);
    // Replace the device: confirm with a recovery code, scan a new QR code, enter its code.
    let wrong = b.submit(
        "/account/two-step",
        "/account/two-step/replace",
        &[("code", "111111")],
    );
    wrong.assert_contains("attempts left");
    b.submit(
        "/account/two-step",
        "/account/two-step/replace",
        &[("code", &codes[1])],
    )
    .assert_path("/account/two-step/setup")
    .assert_contains("Set up your new device");
    let new_uri = scan_setup(&server, &b);
    assert_ne!(
        secret_of(&new_uri),
        secret,
        "a new device gets a new secret"
    );
    let mut new_phone = Phone::new(&new_uri);
    b.submit(
        "/account/two-step/setup",
        "/account/two-step/setup/verify",
        &[("code", &new_phone.next_code())],
    )
    .assert_contains("Your new authenticator app is set up");
    server
        .mail
        .wait_for("alice@example.com", "Your authenticator app was replaced");
    // Codes from the old app no longer work; the new one does.
    sign_out(&b);
    let second = sign_in_password(&b, "alice");
    let old = b.post_form(
        "/signin/second-step",
        &second.csrf(),
        &[("code", &phone.next_code())],
    );
    assert_eq!(old.status, 401);
    old.assert_contains("That code is not right");
    b.post_form(
        "/signin/second-step",
        &second.csrf(),
        &[("code", &new_phone.next_code())],
    )
    .assert_path("/");

    // Disable: asks for confirmation and a code.
    let page = b.get("/account/two-step/disable");
    page.assert_contains("Disable two-step verification?");
    let unticked = b.post_form(
        "/account/two-step/disable",
        &page.csrf(),
        &[("code", &codes[2])],
    );
    unticked.assert_contains("Tick the box");
    b.post_form(
        "/account/two-step/disable",
        &page.csrf(),
        &[("code", &codes[2]), ("confirm", "yes")],
    )
    .assert_contains("Two-step verification is off.");
    server
        .mail
        .wait_for("alice@example.com", "Two-step verification is off");
    sign_out(&b);
    sign_in_password(&b, "alice").assert_path("/");

    // The security log tells the story.
    let log = b.get("/account/security-log");
    for event in [
        "Account created",
        "Email address confirmed",
        "SSH key added",
        "Two-step confirmation email sent",
        "Two-step verification turned on",
        "Two-step verification passed",
        "Wrong two-step code",
        "Recovery code used",
        "Authenticator app replaced",
        "Two-step verification turned off",
    ] {
        log.assert_contains(event);
    }

    assert_secrets_not_in_clear(
        &server,
        &[
            PASSWORD,
            &secret,
            &secret_of(&new_uri),
            &codes[3],
            &codes[5],
            &token,
        ],
    );
}

/// Neither the database files nor the log hold a secret in clear.
fn assert_secrets_not_in_clear(server: &Server, secrets: &[&str]) {
    let mut haystacks: Vec<(String, Vec<u8>)> = Vec::new();
    for entry in std::fs::read_dir(server.data_dir()).unwrap() {
        let p = entry.unwrap().path();
        if p.is_file()
            && p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("twostep.db")
        {
            haystacks.push((p.display().to_string(), std::fs::read(&p).unwrap()));
        }
    }
    assert!(!haystacks.is_empty());
    haystacks.push(("server log".into(), server.log_text().into_bytes()));
    for (name, bytes) in &haystacks {
        for s in secrets {
            let needles = [s.to_string(), s.replace('-', ""), s.to_lowercase()];
            for n in needles {
                assert!(
                    !bytes.windows(n.len()).any(|w| w == n.as_bytes()),
                    "{n:?} found in clear in {name}"
                );
            }
        }
    }
}

#[test]
fn ten_wrong_codes_lock_the_second_step_whatever_the_source() {
    let server = Server::start();
    let b = sign_up_confirmed(&server, "bob");
    add_ssh_key(&server, &b, "bob_key");
    b.submit("/account/two-step", "/account/two-step/setup", &[]);
    let uri = scan_setup(&server, &b);
    let mut phone = Phone::new(&uri);
    b.submit(
        "/account/two-step/setup",
        "/account/two-step/setup/verify",
        &[("code", &phone.next_code())],
    );
    let link = server
        .mail
        .wait_for("bob@example.com", "Confirm turning on")
        .link("/account/two-step/confirm");
    let confirm = b.get(&link);
    let token = common::field_value(&confirm.body, "token").unwrap();
    b.post_form(
        "/account/two-step/confirm",
        &confirm.csrf(),
        &[("token", &token)],
    )
    .assert_contains("Two-step verification is on");
    sign_out(&b);

    // Nine wrong codes from the web, one from the API: the tenth locks.
    let second = sign_in_password(&b, "bob");
    for i in 0..9 {
        let r = b.post_form("/signin/second-step", &second.csrf(), &[("code", "000000")]);
        assert_eq!(r.status, 401, "attempt {i}");
        r.assert_contains(&format!("({} attempts left", 9 - i));
    }
    let api = reqwest::blocking::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let r = api
        .post(server.url("/api/v1/session"))
        .json(&serde_json::json!({"login": "bob", "password": PASSWORD}))
        .send()
        .unwrap();
    assert_eq!(
        r.json::<serde_json::Value>().unwrap()["status"],
        "second_step_required"
    );
    let r = api
        .post(server.url("/api/v1/session/second-step"))
        .json(&serde_json::json!({"code": "000000"}))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    let body: serde_json::Value = r.json().unwrap();
    assert_eq!(body["error"]["code"], "second_step_locked");
    // Even the right code is refused while locked, on the web too, and the user is told why.
    let right = b.post_form(
        "/signin/second-step",
        &second.csrf(),
        &[("code", &phone.next_code())],
    );
    assert_eq!(right.status, 429);
    right
        .assert_contains("locked until")
        .assert_contains("App passwords keep working");
    server
        .mail
        .wait_for("bob@example.com", "Two-step sign-in locked");
    // A fresh browser with the right password is told at once, before any
    // code, with the lock's end and what still works; so is the API.
    let fresh = server.browser();
    let page = sign_in_password(&fresh, "bob");
    page.assert_path("/signin/second-step");
    let told = common::texts(&page.body, "#second-step-lock");
    assert!(
        told.len() == 1
            && told[0].contains("locked until")
            && told[0].contains("App passwords keep working"),
        "{}",
        page.body
    );
    let again = reqwest::blocking::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap()
        .post(server.url("/api/v1/session"))
        .json(&serde_json::json!({"login": "bob", "password": PASSWORD}))
        .send()
        .unwrap()
        .json::<serde_json::Value>()
        .unwrap();
    assert_eq!(again["status"], "second_step_required", "{again}");
    assert_eq!(
        again["second_step_lock"]["code"], "second_step_locked",
        "{again}"
    );
    assert!(
        again["second_step_lock"]["until"].as_i64().unwrap() > 0,
        "{again}"
    );
    assert!(
        again["second_step_lock"]["message"]
            .as_str()
            .unwrap()
            .contains("locked until"),
        "{again}"
    );
}

#[test]
fn password_reset_by_mailed_link_works_once() {
    let server = Server::start();
    let b = sign_up_confirmed(&server, "carol");
    sign_out(&b);
    b.submit(
        "/password/forgot",
        "/password/forgot",
        &[("email", "carol@example.com")],
    )
    .assert_contains("Check your email");
    // Unknown addresses get the same answer and no mail.
    b.submit(
        "/password/forgot",
        "/password/forgot",
        &[("email", "nobody@example.com")],
    )
    .assert_contains("Check your email");
    assert_eq!(server.mail.count("nobody@example.com", ""), 0);
    let link = server
        .mail
        .wait_for("carol@example.com", "Reset your password")
        .link("/password/reset");
    let form = b.get(&link);
    form.assert_contains("Choose a new password for carol");
    let token = common::field_value(&form.body, "token").unwrap();
    b.post_form(
        "/password/reset",
        &form.csrf(),
        &[("token", &token), ("password", "short")],
    )
    .assert_contains("at least 10 characters");
    b.post_form(
        "/password/reset",
        &form.csrf(),
        &[("token", &token), ("password", "a-new-long-passphrase")],
    )
    .assert_contains("Your password was changed");
    let again = b.get(&link);
    assert_eq!(again.status, 410);
    again.assert_contains("invalid, has expired or was already used");
    b.submit(
        "/signin",
        "/signin",
        &[("login", "carol"), ("password", PASSWORD)],
    )
    .assert_contains("Incorrect username or password");
    b.submit(
        "/signin",
        "/signin",
        &[
            ("login", "carol@example.com"),
            ("password", "a-new-long-passphrase"),
        ],
    )
    .assert_path("/");
}

#[test]
fn forms_without_a_valid_csrf_token_are_refused() {
    let server = Server::start();
    let b = server.browser();
    b.get("/signup");
    let r = b.post_form(
        "/signup",
        "forged",
        &[
            ("username", "mallory"),
            ("email", "m@example.com"),
            ("password", PASSWORD),
        ],
    );
    assert_eq!(r.status, 403);
    r.assert_contains("came from another site");
    // Cookies are HttpOnly and SameSite.
    let res = reqwest::blocking::get(server.url("/signin")).unwrap();
    let cookie = res
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
}

#[test]
fn wrong_passwords_pause_unknown_browsers_but_not_the_owners() {
    let server = Server::start();
    let b = sign_up_confirmed(&server, "nina");
    sign_out(&b);
    // The owner signs in once from this browser: it gets a device cookie.
    sign_in_password(&b, "nina").assert_path("/");
    assert!(b.cookie("twostep_device").is_some());
    sign_out(&b);

    // Someone else guesses: 10 wrong passwords pause unknown clients.
    let attacker = server.browser();
    for _ in 0..9 {
        let r = attacker.submit(
            "/signin",
            "/signin",
            &[("login", "nina"), ("password", "not-the-password")],
        );
        assert_eq!(r.status, 401);
        r.assert_contains("Incorrect username or password");
    }
    for _ in 0..3 {
        let r = attacker.submit(
            "/signin",
            "/signin",
            &[("login", "nina"), ("password", "not-the-password")],
        );
        assert_eq!(r.status, 429);
        r.assert_contains("paused until");
    }
    // Even the right password waits, from an unknown browser…
    let r = sign_in_password(&attacker, "nina");
    assert_eq!(r.status, 429);
    // …while the owner's browser signs in as usual.
    sign_in_password(&b, "nina").assert_path("/");
    server
        .mail
        .wait_for("nina@example.com", "Password sign-in paused");
    assert_eq!(
        server
            .mail
            .count("nina@example.com", "Password sign-in paused"),
        1,
        "one mail per pause, not per failure"
    );
    b.get("/account/security-log")
        .assert_contains("Password sign-in paused for unknown browsers");
}
