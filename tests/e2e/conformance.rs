//! NIST SP 800-63B-4 and OWASP ASVS 5.0, as docs/CONFORMANCE.md lists them:
//! what a user sees of each requirement, through the binary.

use std::process::Command;

use serde_json::json;

use crate::common::accounts::{account, enable_two_step, second_step, PASSWORD};
use crate::common::api::strings;
use crate::common::api::ApiClient;
use crate::common::{Server, ServerOptions};

fn sha1_upper(password: &str) -> String {
    let out = Command::new("sha1sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(password.as_bytes())?;
            c.wait_with_output()
        })
        .expect("sha1sum runs");
    String::from_utf8(out.stdout).unwrap()[..40].to_uppercase()
}

/// A Pwned Passwords file in the real format (HASH:COUNT, CR LF, sorted)
/// holding `breached` among a thousand other hashes.
fn breached_file(dir: &std::path::Path, breached: &str) -> std::path::PathBuf {
    let mut lines: Vec<String> = (0..1000)
        .map(|i| format!("{}:{}", sha1_upper(&format!("filler-{i}")), i + 1))
        .collect();
    lines.push(format!("{}:52", sha1_upper(breached)));
    lines.sort();
    let path = dir.join("pwned-passwords-sha1-ordered-by-hash.txt");
    std::fs::write(&path, lines.join("\r\n") + "\r\n").unwrap();
    path
}

#[test]
fn common_context_and_breached_passwords_are_refused_at_sign_up_and_change() {
    const BREACHED: &str = "amber-kettle-5520-north";
    let dir = tempfile::tempdir().unwrap();
    let file = breached_file(dir.path(), BREACHED);
    let server = Server::start_with(ServerOptions {
        env: vec![(
            "TWOSTEP_BREACHED_PASSWORDS_FILE".into(),
            file.display().to_string(),
        )],
        ..Default::default()
    });
    let api = ApiClient::new(&server);
    let refused = |api: &ApiClient, password: &str, why: &str| {
        let (status, body) = api.call(
            "POST",
            "/users",
            Some(json!({"username": "vera", "email": "vera@example.net", "password": password})),
        );
        assert_eq!(status, 422, "{password}: {body}");
        assert_eq!(body["error"]["code"], "weak_password", "{password}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(why), "{password}: {message}");
        assert!(
            !message.contains(password),
            "the refusal never quotes the password"
        );
    };
    for common in [
        "qwertyuiop123",
        "1q2w3e4r5t6y",
        "P@ssw0rd2024!",
        "iloveyou2024",
        "letmein12345",
        "welcome2024!",
        "qwerty123456",
        "abc123abc123",
        "monkey123456",
        "dragon123456",
        "football2024",
        "superman1234",
        "1qaz2wsx3edc",
        "zaq12wsx3edc",
        "passw0rd2024",
        "admin1234567",
    ] {
        refused(&api, common, "among the first ones attackers try");
    }
    // Context words: the username, the address's local part, the site's name.
    refused(&api, "vera-sunflower-77", "must not contain your username");
    refused(&api, "my-twostep-password-1", "the name of this site");
    refused(&api, BREACHED, "appeared in a data breach");

    // The same rules at a change of password.
    let vera = account(&server, "vera");
    for (new, why) in [
        ("qwertyuiop123", "among the first ones attackers try"),
        ("twostep-sunflower-9", "the name of this site"),
        (BREACHED, "appeared in a data breach"),
    ] {
        let (status, body) = vera.api.call(
            "POST",
            "/user/password",
            Some(json!({"new_password": new, "current_password": PASSWORD})),
        );
        assert_eq!(status, 422, "{new}: {body}");
        assert_eq!(body["error"]["field"], "password");
        assert!(body["error"]["message"].as_str().unwrap().contains(why));
    }
    vera.api.ok(
        "POST",
        "/user/password",
        Some(json!({"new_password": "copper-lantern-8812-quiet", "current_password": PASSWORD})),
    );

    // A file in another format stops the server at start, with the reason.
    let bad = dir.path().join("plain.txt");
    std::fs::write(&bad, "password123\nqwerty\n").unwrap();
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_twostep"))
        .args(["serve", "--data-dir"])
        .arg(data.path())
        .args(["--http-addr", "127.0.0.1:0", "--ssh-addr", "127.0.0.1:0"])
        .env("TWOSTEP_BREACHED_PASSWORDS_FILE", &bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("breached_passwords_file") && err.contains("HASH:COUNT"),
        "{err}"
    );
}

#[test]
fn a_password_change_asks_for_the_current_password() {
    let server = Server::start();
    let wes = account(&server, "wes");
    let (mut phone, _codes) = enable_two_step(&server, &wes);
    // A code opens sudo; the current password is asked all the same.
    let api = crate::common::accounts::fresh_session(&server, "wes", &mut phone);
    let code = phone.next_code();
    api.err(
        "POST",
        "/user/password",
        Some(json!({"new_password": "copper-lantern-8812-quiet", "code": code})),
        422,
        "current_password_required",
    );
    api.err(
        "POST",
        "/user/password",
        Some(json!({"new_password": "copper-lantern-8812-quiet", "current_password": "not-my-password", "code": code})),
        422,
        "wrong_password",
    );
    api.ok(
        "POST",
        "/user/password",
        Some(json!({"new_password": "copper-lantern-8812-quiet", "current_password": PASSWORD})),
    );
    ApiClient::new(&server).ok(
        "POST",
        "/session",
        Some(json!({"login": "wes", "password": "copper-lantern-8812-quiet"})),
    );
}

fn sqlite(server: &Server, sql: &str) -> String {
    let out = Command::new("sqlite3")
        .arg(server.data_dir().join("twostep.db"))
        .arg(sql)
        .output()
        .expect("sqlite3 is installed (the test script installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn recovery_codes_are_long_and_stored_salted_and_old_ones_still_work() {
    let server = Server::start();
    let olga = account(&server, "olga");
    let (_phone, codes) = enable_two_step(&server, &olga);
    // 16 characters in four groups, from a 31-letter alphabet: 2 pick the
    // row, 14 are secret (69 bits).
    assert_eq!(codes.len(), 6);
    for c in &codes {
        assert_eq!(c.len(), 19, "{c}");
        assert_eq!(c.matches('-').count(), 3, "{c}");
    }
    let user_id = sqlite(&server, "SELECT id FROM users WHERE username = 'olga'")
        .trim()
        .to_string();
    let rows = sqlite(
        &server,
        &format!("SELECT lookup, code_hash FROM recovery_codes WHERE user_id = '{user_id}' ORDER BY position"),
    );
    let rows: Vec<(&str, &str)> = rows.lines().map(|l| l.split_once('|').unwrap()).collect();
    assert_eq!(rows.len(), 6);
    for ((lookup, hash), code) in rows.iter().zip(&codes) {
        assert_eq!(*lookup, &code[..2]);
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(!hash.contains(&code.replace('-', "")));
    }
    let salts: std::collections::HashSet<&str> = rows
        .iter()
        .map(|(_, h)| h.split('$').nth(4).unwrap())
        .collect();
    assert_eq!(salts.len(), 6, "each code has a salt of its own");
    // A code typed in capitals with spaces signs in, once.
    let typed = codes[0].to_uppercase().replace('-', " ");
    assert_eq!(second_step(&server, "olga", &typed).0, 200);

    // Codes as the earlier version stored them: 12 characters, keyed hash.
    let master = std::fs::read_to_string(server.data_dir().join("secret.key")).unwrap();
    let master: [u8; 32] = data_encoding::HEXLOWER
        .decode(master.trim().as_bytes())
        .unwrap()
        .try_into()
        .unwrap();
    let pepper = twostep_core::secretbox::Keys::derive(&master).pepper;
    let old = ["abcd-efgh-2345", "wxyz-9876-kmnp"];
    let mut sql = format!("DELETE FROM recovery_codes WHERE user_id = '{user_id}';");
    for (i, code) in old.iter().enumerate() {
        let hash = twostep_core::recovery::hash_normalised(&pepper, &code.replace('-', ""));
        sql += &format!(
            "INSERT INTO recovery_codes (id, user_id, code_hash, created_at, position) VALUES ('old{i}', '{user_id}', '{hash}', 0, {});",
            i + 1
        );
    }
    sqlite(&server, &sql);
    assert_eq!(second_step(&server, "olga", "ABCD EFGH 2345").0, 200);
    let (status, body) = second_step(&server, "olga", "abcd-efgh-2345");
    assert_eq!(status, 401, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("used already"),
        "{body}"
    );
    // A new set replaces them with the new format.
    let fresh = olga.api.ok(
        "POST",
        "/user/two-step/recovery-codes",
        Some(json!({"password": PASSWORD, "code": "wxyz-9876-kmnp"})),
    );
    let fresh = strings(&fresh["recovery_codes"]);
    assert!(fresh.iter().all(|c| c.len() == 19));
    assert_eq!(second_step(&server, "olga", &fresh[5]).0, 200);
    let left = sqlite(
        &server,
        &format!(
            "SELECT COUNT(*) FROM recovery_codes WHERE user_id = '{user_id}' AND lookup IS NULL"
        ),
    );
    assert_eq!(
        left.trim(),
        "0",
        "the earlier codes are gone with their set"
    );
}

#[test]
fn a_replayed_code_raises_an_alarm() {
    let server = Server::start();
    let pia = account(&server, "pia");
    let (mut phone, codes) = enable_two_step(&server, &pia);
    // The owner signs in with a code; someone who watched types it again.
    let code = phone.next_code();
    assert_eq!(second_step(&server, "pia", &code).0, 200);
    let (status, body) = second_step(&server, "pia", &code);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("code_used")),
        "{body}"
    );
    let mail = server
        .mail
        .wait_for("pia@example.net", "A used code was entered again");
    assert!(
        mail.raw
            .contains("authenticator code that had already been used"),
        "{}",
        mail.raw
    );
    assert!(mail.raw.contains("/account/sessions"), "{}", mail.raw);
    let log = pia.api.ok("GET", "/user/security-log", None).to_string();
    assert!(log.contains("code.replayed"), "{log}");

    // A recovery code too; its replay is counted like a wrong code (checking
    // one costs an Argon2 hash, so replays meet the lock).
    assert_eq!(second_step(&server, "pia", &codes[1]).0, 200);
    for left in [9, 8] {
        let (status, body) = second_step(&server, "pia", &codes[1]);
        assert_eq!(status, 401, "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("used already") && message.contains(&format!("{left} attempts left")),
            "{message}"
        );
    }
    assert_eq!(second_step(&server, "pia", &codes[2]).0, 200);
}

/// A wrong-password attempt from a client that never signed in (a new API
/// client each time): status, error code and message.
fn unknown_client_tries(server: &Server, login: &str, password: &str) -> (u16, String, String) {
    let (status, body) = ApiClient::new(server).call(
        "POST",
        "/session",
        Some(json!({"login": login, "password": password})),
    );
    let e = &body["error"];
    (
        status,
        e["code"].as_str().unwrap_or("").to_string(),
        e["message"].as_str().unwrap_or("").to_string(),
    )
}

/// 100 wrong passwords in a row for `login` from unknown clients, then one
/// right one (or, for a login that names no account, one more): the answers.
/// A test cannot wait the two and a half hours that 100 take at ten per
/// fifteen minutes: 90 more of the row are written into the count as
/// the server keeps it, and the window is moved on once.
fn hundred_wrong_then_right(
    server: &Server,
    login: &str,
    subject: &str,
) -> Vec<(u16, String, String)> {
    let mut answers = vec![unknown_client_tries(server, login, "wrong-password-1")];
    sqlite(
        server,
        &format!("UPDATE login_ceilings SET in_row = 91 WHERE subject = '{subject}'"),
    );
    for i in 0..10 {
        answers.push(unknown_client_tries(server, login, &format!("wrong-{i}-x")));
    }
    sqlite(server, "UPDATE login_failures SET at = at - 1000");
    answers.push(unknown_client_tries(server, login, PASSWORD));
    answers
}

#[test]
fn a_hundred_wrong_passwords_pause_unknown_clients_but_not_the_owner() {
    let server = Server::start();
    let _xena = account(&server, "xena");
    // The owner's browser signed in before: it holds the device cookie.
    let owner = server.browser();
    owner
        .submit(
            "/signin",
            "/signin",
            &[("login", "xena"), ("password", PASSWORD)],
        )
        .assert_path("/");
    owner.submit("/", "/signout", &[]);
    let id = sqlite(&server, "SELECT id FROM users WHERE username = 'xena'");
    let answers = hundred_wrong_then_right(&server, "xena", id.trim());
    let codes: Vec<(u16, &str)> = answers.iter().map(|(s, c, _)| (*s, c.as_str())).collect();
    // The tenth in the window pauses (it is also the 100th in a row); once
    // the window has moved on, unknown clients stay closed out.
    let mut expected = vec![(401, "bad_credentials"); 9];
    expected.push((429, "password_throttled"));
    expected.push((429, "password_throttled"));
    expected.push((429, "password_sign_in_closed"));
    assert_eq!(codes, expected);
    assert!(
        answers[11].2.contains("closed until its owner signs in"),
        "{}",
        answers[11].2
    );
    let mail = server.mail.wait_for(
        "xena@example.net",
        "Password sign-in closed after 100 wrong passwords",
    );
    assert!(mail.raw.contains("/unlock-password-sign-in?token="));
    // The owner's browser was never paused, and its sign-in reopens.
    owner
        .submit(
            "/signin",
            "/signin",
            &[("login", "xena"), ("password", PASSWORD)],
        )
        .assert_path("/");
    assert_eq!(unknown_client_tries(&server, "xena", PASSWORD).0, 200);
}

#[test]
fn an_unknown_username_gets_the_same_answers() {
    let server = Server::start();
    let _yuri = account(&server, "yuri");
    let id = sqlite(&server, "SELECT id FROM users WHERE username = 'yuri'");
    let real = hundred_wrong_then_right(&server, "yuri", id.trim());
    // The count of a login that names no account is kept under a keyed hash
    // (the login itself is never stored: it may be a mistyped password).
    unknown_client_tries(&server, "zoltan", "wrong-password-0");
    let subject = sqlite(
        &server,
        "SELECT subject FROM login_ceilings WHERE subject LIKE '?%'",
    );
    assert!(!subject.contains("zoltan"));
    sqlite(
        &server,
        "DELETE FROM login_failures WHERE subject LIKE '?%'",
    );
    sqlite(
        &server,
        "DELETE FROM login_ceilings WHERE subject LIKE '?%'",
    );
    let unknown = hundred_wrong_then_right(&server, "zoltan", subject.trim());
    // Every answer, message included, is the same (but for the clock's time).
    let undated = |a: Vec<(u16, String, String)>| -> Vec<(u16, String, String)> {
        a.into_iter()
            .map(|(s, c, m)| (s, c, m.replace(|ch: char| ch.is_ascii_digit(), "#")))
            .collect()
    };
    assert_eq!(undated(real), undated(unknown));
}

#[test]
fn a_sign_in_from_a_new_browser_is_mailed() {
    let server = Server::start();
    let _ada = account(&server, "ada");
    // An account older than its first hour (its own first browser is not news).
    sqlite(
        &server,
        "UPDATE users SET created_at = created_at - 7200 WHERE username = 'ada'",
    );
    let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
    let browser = |ua: &str| {
        reqwest::blocking::Client::builder()
            .cookie_store(true)
            .user_agent(ua)
            .build()
            .unwrap()
    };
    let sign_in = |client: &reqwest::blocking::Client| {
        let r = client
            .post(server.url("/api/v1/session"))
            .json(&json!({"login": "ada", "password": PASSWORD}))
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
    };
    let laptop = browser(firefox);
    sign_in(&laptop);
    let mail = server
        .mail
        .wait_for("ada@example.net", "New sign-in from a new browser");
    for needle in [
        "Firefox 128 on Linux",
        "127.0.0.1",
        "/account/sessions",
        " UTC",
    ] {
        assert!(mail.raw.contains(needle), "{needle}: {}", mail.raw);
    }
    // The same browser again: it holds the device cookie now, nothing is mailed.
    sign_in(&laptop);
    let phone = browser("Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36");
    sign_in(&phone);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let new_sign_ins = || {
        server
            .mail
            .all()
            .into_iter()
            .filter(|m| m.subject.contains("New sign-in from a new browser"))
            .count()
    };
    while new_sign_ins() < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(
        new_sign_ins(),
        2,
        "the laptop's second sign-in mailed nothing"
    );
}

#[test]
fn sessions_are_listed_and_ended_from_another_browser() {
    use crate::admin::{cli_ok, sudo, two_step_user};
    let server = Server::start();
    let bea = account(&server, "bea");
    // A second browser, with a User-Agent of its own.
    let laptop = reqwest::blocking::Client::builder()
        .cookie_store(true)
        .user_agent("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
        .build()
        .unwrap();
    let r = laptop
        .post(server.url("/api/v1/session"))
        .json(&json!({"login": "bea", "password": PASSWORD}))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let list = bea.api.ok("GET", "/user/sessions", None);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    let here: Vec<_> = list.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(here.len(), 1);
    let other = list.iter().find(|s| s["current"] == false).unwrap();
    assert_eq!(other["browser"], "Firefox 128 on Linux");
    assert_eq!(other["ip"], "127.0.0.1");
    assert!(other["created_at"].as_i64().unwrap() > 1_700_000_000);
    // The page lists them too, to the laptop.
    let page = laptop
        .get(server.url("/account/sessions"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        page.contains("Firefox 128 on Linux") && page.contains("(this browser)"),
        "{page}"
    );
    // Ended from the first browser: the laptop is signed out.
    let handle = other["handle"].as_str().unwrap();
    bea.api
        .ok("DELETE", &format!("/user/sessions/{handle}"), None);
    let r = laptop.get(server.url("/api/v1/user")).send().unwrap();
    assert_eq!(r.status().as_u16(), 401);
    bea.api.err(
        "DELETE",
        &format!("/user/sessions/{handle}"),
        None,
        404,
        "not_found",
    );
    // The owner hears of every ending (a thief with a copied cookie could do it).
    server
        .mail
        .wait_for("bea@example.net", "One of your sessions was ended");
    let mine = here[0]["handle"].as_str().unwrap();
    bea.api.err(
        "DELETE",
        &format!("/user/sessions/{mine}"),
        None,
        409,
        "conflict",
    );
    // End every other one, from a page in a third browser.
    let b = server.browser();
    b.submit(
        "/signin",
        "/signin",
        &[("login", "bea"), ("password", PASSWORD)],
    )
    .assert_path("/");
    b.submit("/account/sessions", "/account/sessions/end-others", &[])
        .assert_contains("Every other session was ended.");
    bea.api.err("GET", "/user", None, 401, "sign_in_required");
    let log = b.get("/account/security-log");
    log.assert_contains("Session ended by its owner");
    // After a factor changes, the page offers to review the sessions.
    let page = b.get("/account/two-step?n=authenticator-added");
    page.assert_contains("Review your sessions");

    // An administrator ends a user's sessions: audited, and the user is mailed.
    let (admin, mut phone, _) = two_step_user(&server, "ida");
    cli_ok(&server, &["grant", "ida", "--reason", "first admin"]);
    sudo(&admin, &mut phone);
    admin.api.err(
        "POST",
        "/admin/users/bea/sessions/end",
        Some(json!({"reason": " "})),
        422,
        "reason_required",
    );
    admin.api.ok(
        "POST",
        "/admin/users/bea/sessions/end",
        Some(json!({"reason": "laptop reported stolen"})),
    );
    assert_eq!(b.get("/account").assert_path("/signin").status, 200);
    server.mail.wait_for(
        "bea@example.net",
        "Your sessions were ended by an administrator",
    );
    let audit = admin.api.ok("GET", "/admin/audit", None).to_string();
    assert!(
        audit.contains("sessions.ended") && audit.contains("laptop reported stolen"),
        "{audit}"
    );
}

#[test]
fn self_service_recovery_can_be_turned_off() {
    let server = Server::start_with(ServerOptions {
        env: vec![("TWOSTEP_SELF_SERVICE_RECOVERY".into(), "false".into())],
        ..Default::default()
    });
    let gus = account(&server, "gus");
    enable_two_step(&server, &gus);
    // Password given, every second factor lost: no recovery by mailbox here.
    let api = ApiClient::new(&server);
    api.ok(
        "POST",
        "/session",
        Some(json!({"login": "gus", "password": PASSWORD})),
    );
    let (status, body) = api.call("POST", "/session/recovery", None);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden")),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ask an administrator"),
        "{body}"
    );
}

#[test]
fn the_session_profile_is_read_from_the_configuration() {
    // The AAL2 profile starts; a profile that does not exist stops the start with the reason.
    let server = Server::start_with(ServerOptions {
        env: vec![("TWOSTEP_SESSION_PROFILE".into(), "aal2".into())],
        ..Default::default()
    });
    let _cam = account(&server, "cam");
    let lifetimes = sqlite(
        &server,
        "SELECT DISTINCT expires_at - created_at FROM sessions",
    );
    assert_eq!(
        lifetimes.trim(),
        "86400",
        "a session of the AAL2 profile lasts 24 hours"
    );
    let data = tempfile::tempdir().unwrap();
    for (key, value, says) in [
        ("TWOSTEP_SESSION_PROFILE", "forever", "session_profile"),
        (
            "TWOSTEP_SESSION_IDLE",
            "10s",
            "session_idle must be at least 1 minute",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_twostep"))
            .args(["serve", "--data-dir"])
            .arg(data.path())
            .args(["--http-addr", "127.0.0.1:0", "--ssh-addr", "127.0.0.1:0"])
            .env(key, value)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{err}");
    }
}

#[test]
fn an_expired_app_password_is_refused_with_a_reason() {
    use crate::oauth::{app_of_ola, authorise, bearer};
    let server = Server::start();
    let (mut phone, api, app) = app_of_ola(&server, "ci-tool", "http://127.0.0.1:9/callback");
    // Chosen at creation: 1 day to a year (refused before the proof is read).
    for days in [0, 400] {
        api.err(
            "POST",
            "/user/app-passwords",
            Some(json!({"label": "ci", "scopes": ["repository:read"], "expires_in_days": days, "code": "000000"})),
            422,
            "invalid_expiry",
        );
    }
    let created = api.ok(
        "POST",
        "/user/app-passwords",
        Some(json!({"label": "ci", "scopes": ["repository:read", "account:read"], "expires_in_days": 30, "code": phone.next_code()})),
    );
    let secret = created["password"].as_str().unwrap().to_string();
    let info = &created["app_password"];
    assert_eq!(
        info["expires_at"].as_i64().unwrap() - info["created_at"].as_i64().unwrap(),
        30 * 86400
    );
    let url = server
        .base
        .replace("http://", &format!("http://ola:{secret}@"))
        + "/ola/tools.git";
    let ls = |url: &str| {
        Command::new("git")
            .args(["ls-remote", url])
            .env("GIT_TERMINAL_PROMPT", "0")
            .output()
            .unwrap()
    };
    assert!(ls(&url).status.success());
    // Its day comes (the clock cannot be moved: the expiry is).
    sqlite(
        &server,
        "UPDATE app_passwords SET expires_at = created_at - 1",
    );
    let r = reqwest::blocking::Client::new()
        .get(server.url("/api/v1/user"))
        .basic_auth("ola", Some(&secret))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let body: serde_json::Value = r.json().unwrap();
    assert_eq!(body["error"]["code"], "credential_expired");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("The app password \"ci\" expired on"),
        "{message}"
    );
    let out = ls(&url);
    assert!(!out.status.success());

    // An OAuth authorisation expires the same way.
    let web = server.signed_in_browser("ola", &mut phone);
    let client_id = app["client_id"].as_str().unwrap();
    web.get("/account/app-passwords")
        .assert_contains("Expires (UTC)");
    let tokens = authorise(&server, &web, client_id, &phone.next_code());
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(bearer(&server, access, "GET", "/api/v1/user"), 200);
    let apps = api.ok("GET", "/user/authorized-apps", None);
    let grant = &apps.as_array().unwrap()[0];
    assert_eq!(
        grant["expires_at"].as_i64().unwrap() - grant["created_at"].as_i64().unwrap(),
        365 * 86400
    );
    sqlite(
        &server,
        "UPDATE oauth_grants SET expires_at = created_at - 1",
    );
    let r = reqwest::blocking::Client::new()
        .get(server.url("/api/v1/user"))
        .bearer_auth(access)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let body: serde_json::Value = r.json().unwrap();
    assert_eq!(body["error"]["code"], "credential_expired", "{body}");
}

#[test]
fn sign_up_with_a_taken_address_answers_like_any_other() {
    let server = Server::start();
    let _dana = account(&server, "dana");
    let sign_up = |name: &str, email: &str| {
        ApiClient::new(&server).call(
            "POST",
            "/users",
            Some(json!({"username": name, "email": email, "password": PASSWORD})),
        )
    };
    let taken = sign_up("eve", "dana@example.net");
    let free = sign_up("finn", "finn@example.net");
    assert_eq!(
        taken, free,
        "the same answer whether or not the address has an account"
    );
    assert_eq!(taken.0, 202);
    // On the page too.
    let page = |name: &str, email: &str| {
        let b = server.browser();
        let p = b.submit(
            "/signup",
            "/signup",
            &[("username", name), ("email", email), ("password", PASSWORD)],
        );
        (p.status, p.body.replace(email, "ADDRESS"))
    };
    let (taken_page, free_page) = (
        page("gil", "dana@example.net"),
        page("hal", "hal@example.net"),
    );
    assert_eq!(taken_page.0, 200);
    assert!(taken_page.1.contains("Check your email"));
    let without_csrf = |b: &str| {
        b.lines()
            .filter(|l| !l.contains("csrf"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(without_csrf(&taken_page.1), without_csrf(&free_page.1));
    // The address's owner is told instead; no account "eve" exists.
    let mail = server.mail.wait_for(
        "dana@example.net",
        "Someone tried to sign up with your address",
    );
    for needle in ["the account dana", "/signin", "/password/forgot"] {
        assert!(mail.raw.contains(needle), "{needle}: {}", mail.raw);
    }
    ApiClient::new(&server).err(
        "POST",
        "/session",
        Some(json!({"login": "eve", "password": PASSWORD})),
        401,
        "bad_credentials",
    );
    // The free address's link makes the account, once.
    let link = server
        .mail
        .wait_for("finn@example.net", "Confirm your email address")
        .link("/confirm-email");
    let token = link.split("token=").nth(1).unwrap();
    let api = ApiClient::new(&server);
    let made = api.ok(
        "POST",
        "/users/confirm-email",
        Some(json!({"token": token, "password": PASSWORD})),
    );
    assert_eq!(
        (made["username"].as_str(), made["email_confirmed"].as_bool()),
        (Some("finn"), Some(true))
    );
    api.err(
        "POST",
        "/users/confirm-email",
        Some(json!({"token": token, "password": PASSWORD})),
        410,
        "link_invalid",
    );
    api.ok(
        "POST",
        "/session",
        Some(json!({"login": "finn", "password": PASSWORD})),
    );
    // Usernames are public (every repository URL has one): a taken one is said.
    let (status, body) = sign_up("dana", "other@example.net");
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("username_taken"))
    );
}

/// Every test docs/CONFORMANCE.md names exists: `path::function` in
/// backticks, the path from the repository's root; and every row of its
/// tables names a test or says why none can show it.
#[test]
fn doc_names_only_tests_that_exist() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let doc = std::fs::read_to_string(root.join("docs/CONFORMANCE.md")).unwrap();
    let mut named = 0;
    let mut missing = Vec::new();
    for quoted in doc.split('`').skip(1).step_by(2) {
        let Some((path, function)) = quoted.split_once(".rs::") else {
            continue;
        };
        let file = root.join(format!("{path}.rs"));
        let source = std::fs::read_to_string(&file).unwrap_or_default();
        let is_test = source.contains(&format!("fn {function}("))
            && (source.contains("#[test]") || source.contains("#[tokio::test]"));
        if !is_test {
            missing.push(quoted.to_string());
        }
        named += 1;
    }
    assert!(
        missing.is_empty(),
        "named in docs/CONFORMANCE.md but not found: {missing:#?}"
    );
    assert!(named > 100, "only {named} tests named");
    let rows: Vec<&str> = doc
        .lines()
        .filter(|l| l.starts_with("| §") || l.starts_with("| 6.") || l.starts_with("| 7."))
        .collect();
    assert!(rows.len() > 100, "{} rows", rows.len());
    for row in rows {
        let test = row
            .trim_end_matches('|')
            .rsplit('|')
            .next()
            .unwrap_or("")
            .trim();
        assert!(
            test.contains(".rs::") || test.starts_with('—'),
            "a row without its test (or a reason why none): {row}"
        );
    }
    assert!(
        !doc.contains("pending: issue 28"),
        "a setting still pending in docs/CONFORMANCE.md"
    );
}
