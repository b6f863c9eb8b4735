//! Hardware OATH tokens from seed files: `twostep admin import-tokens` reads
//! RFC 6030 PSKC files (RFC 6030's password-encrypted example and a
//! generated file of 10,000 TOTP tokens), an admin assigns one on the
//! command line or the API, a user claims one with two consecutive codes,
//! and each signs in with codes from oathtool.

use std::process::Command;

use serde_json::json;

use crate::common;
use common::accounts::{account, enable_two_step, PASSWORD};
use common::api::ApiClient;
use common::otp::now;
use common::Server;

fn admin(server: &Server, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_twostep"))
        .arg("admin")
        .args(args)
        .arg("--data-dir")
        .arg(server.data_dir())
        .output()
        .unwrap()
}

fn seed(n: usize) -> Vec<u8> {
    format!("token-seed-{n:09}").into_bytes()
}

/// Token n: SHA-1 or SHA-256, 6 or 8 digits, 30 or 60 s, by n's low bits.
fn kind(n: usize) -> (&'static str, usize, u64) {
    (
        if n.is_multiple_of(2) {
            "HMAC-SHA1"
        } else {
            "HMAC-SHA256"
        },
        if n % 4 < 2 { 6 } else { 8 },
        if n % 8 < 4 { 30 } else { 60 },
    )
}

/// A plain PSKC file of `count` TOTP tokens, as a vendor would ship it.
pub(crate) fn pskc_file(count: usize) -> String {
    use base64::Engine;
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<KeyContainer Version=\"1.0\" xmlns=\"urn:ietf:params:xml:ns:keyprov:pskc\">\n",
    );
    for n in 0..count {
        let (suite, digits, period) = kind(n);
        out.push_str(&format!(
            "<KeyPackage><DeviceInfo><Manufacturer>Acme Tokens</Manufacturer><SerialNo>TS{n:05}</SerialNo></DeviceInfo>\
             <Key Id=\"k{n}\" Algorithm=\"urn:ietf:params:xml:ns:keyprov:pskc:totp\">\
             <AlgorithmParameters><Suite>{suite}</Suite><ResponseFormat Length=\"{digits}\" Encoding=\"DECIMAL\"/></AlgorithmParameters>\
             <Data><Secret><PlainValue>{}</PlainValue></Secret><TimeInterval><PlainValue>{period}</PlainValue></TimeInterval></Data>\
             </Key></KeyPackage>\n",
            base64::engine::general_purpose::STANDARD.encode(seed(n))
        ));
    }
    out.push_str("</KeyContainer>\n");
    out
}

/// Token n's code at unix time `at`, from oathtool.
fn token_code(n: usize, at: u64) -> String {
    let (suite, digits, period) = kind(n);
    let mode = if suite == "HMAC-SHA1" {
        "SHA1"
    } else {
        "SHA256"
    };
    let hex: String = seed(n).iter().map(|b| format!("{b:02x}")).collect();
    let out = Command::new("oathtool")
        .arg(format!("--totp={mode}"))
        .arg(format!("--digits={digits}"))
        .arg(format!("--time-step-size={period}s"))
        .arg(format!("--now=@{at}"))
        .arg(hex)
        .output()
        .expect("oathtool runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn signs_in(server: &Server, name: &str, code: &str) -> u16 {
    crate::common::accounts::second_step(server, name, code).0
}

#[test]
fn tokens_imported_from_seed_files_sign_in_with_oathtool_codes() {
    let server = Server::start();
    let tara = account(&server, "tara");
    let (mut tara_phone, _) = enable_two_step(&server, &tara);
    let uma = account(&server, "uma");
    let (mut uma_phone, _) = enable_two_step(&server, &uma);

    // RFC 6030's password-encrypted example: opened with the password, its
    // HOTP key reported as skipped; the wrong password is refused.
    let rfc = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/e2e/rfc6030-figure7.pskc"
    );
    let out = admin(&server, &["import-tokens", rfc, "--password", "qwerty"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("Imported 0 tokens") && text.contains("987654321: not a TOTP key"),
        "{text}"
    );
    let wrong = admin(&server, &["import-tokens", rfc, "--password", "QWERTY"]);
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("wrong password or key"));
    let none = admin(&server, &["import-tokens", rfc]);
    assert!(String::from_utf8_lossy(&none.stderr).contains("give the password"));

    // 10,000 tokens, then the same file again.
    let file = server.data.path().join("tokens.pskc");
    std::fs::write(&file, pskc_file(10_000)).unwrap();
    let path = file.to_str().unwrap();
    let out = admin(&server, &["import-tokens", path]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Imported 10000 tokens; 0 were in the inventory already; 0 skipped."),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again =
        String::from_utf8_lossy(&admin(&server, &["import-tokens", path]).stdout).to_string();
    assert!(
        again.contains("Imported 0 tokens; 10000 were in the inventory already"),
        "{again}"
    );
    let db = std::fs::read(server.data_dir().join("twostep.db")).unwrap();
    assert!(
        !db.windows(20).any(|w| w == seed(7).as_slice()),
        "no seed in clear in the database"
    );

    // Assigned on the command line: tara signs in with the SHA-1 token's code.
    let out = admin(&server, &["assign-token", "TS00000", "tara"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    server.mail.wait_for(
        "tara@example.net",
        "A hardware token was added to your account",
    );
    let t = common::otp::settle();
    assert_eq!(signs_in(&server, "tara", &token_code(0, t)), 200);
    let taken = admin(&server, &["assign-token", "TS00000", "uma"]);
    assert!(String::from_utf8_lossy(&taken.stderr).contains("assigned to an account already"));

    // Claimed by uma with two consecutive codes of an 8-digit SHA-256 60 s token.
    let n = 7;
    assert_eq!(kind(n), ("HMAC-SHA256", 8, 60));
    uma.api.ok(
        "POST",
        "/session/sudo",
        Some(json!({"code": uma_phone.next_code()})),
    );
    let t = now();
    let (first, second) = (token_code(n, t - 120), token_code(n, t - 60));
    let refused = uma.api.err(
        "POST",
        "/user/two-step/tokens",
        Some(json!({"serial": "TS00007", "first_code": second, "second_code": first})),
        401,
        "wrong_code",
    );
    assert!(refused["error"]["message"]
        .as_str()
        .unwrap()
        .contains("two consecutive codes"));
    uma.api.err(
        "POST",
        "/user/two-step/tokens",
        Some(json!({"serial": "TS99999", "first_code": first, "second_code": second})),
        422,
        "unknown_token",
    );
    uma.api.ok(
        "POST",
        "/user/two-step/tokens",
        Some(json!({"serial": "TS00007", "first_code": first, "second_code": second})),
    );
    let names: Vec<String> = uma.api.ok("GET", "/user/two-step", None)["authenticators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_string())
        .collect();
    assert!(names.contains(&"Token TS00007".to_string()), "{names:?}");
    assert_eq!(
        signs_in(&server, "uma", &token_code(n, now())),
        200,
        "the token's current code signs in"
    );
    uma.api.err(
        "POST",
        "/user/two-step/tokens",
        Some(json!({"serial": "TS00000", "first_code": first, "second_code": second})),
        422,
        "token_taken",
    );

    // The same on the page: a wrong pair is shown next to the codes.
    let form = uma
        .api
        .client
        .get(server.url("/account/two-step/tokens"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let csrf = common::field_value(&form, "csrf").unwrap();
    let wrong = uma
        .api
        .client
        .post(server.url("/account/two-step/tokens"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("serial", "TS00003"),
            ("first_code", "123456"),
            ("second_code", "654321"),
        ])
        .send()
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
    let body = wrong.text().unwrap();
    assert!(
        common::texts(&body, "#code-error")[0].contains("two consecutive codes"),
        "{body}"
    );

    // An administrator assigns through the API; a user cannot.
    uma.api.err(
        "POST",
        "/admin/tokens/TS00002/assign",
        Some(json!({"username": "uma"})),
        403,
        "forbidden",
    );
    assert!(admin(&server, &["grant", "tara"]).status.success());
    let tara_api = ApiClient::new(&server);
    tara_api.ok(
        "POST",
        "/session",
        Some(json!({"login": "tara", "password": PASSWORD})),
    );
    tara_api.ok(
        "POST",
        "/session/second-step",
        Some(json!({"code": tara_phone.next_code()})),
    );
    tara_api.ok(
        "POST",
        "/admin/tokens/TS00002/assign",
        Some(json!({"username": "uma", "code": tara_phone.next_code()})),
    );
    let audit = tara_api.ok("GET", "/admin/audit", None);
    assert_eq!(audit["entries"][0]["action"], "hardware_token.assigned");
    // The imports of seed files are in the audit log too: which file, how many.
    let imports: Vec<&serde_json::Value> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "hardware_tokens.imported")
        .collect();
    assert!(!imports.is_empty(), "{audit}");
    assert!(
        imports.iter().any(|e| e["reason"]
            .as_str()
            .unwrap()
            .contains("tokens.pskc: 10000 imported")),
        "{audit}"
    );
    let t = common::otp::settle();
    assert_eq!(kind(2), ("HMAC-SHA1", 8, 30));
    assert_eq!(signs_in(&server, "uma", &token_code(2, t)), 200);
}

/// python-pskc, asked to encrypt the time step with the secret, writes an
/// encrypted `<TimeInterval>`: the token is imported with its own 60 s step,
/// so its codes sign in, and not as a 30 s token whose codes never match.
#[test]
fn an_encrypted_time_step_written_by_python_pskc_is_honoured() {
    let server = Server::start();
    let vera = account(&server, "vera");
    enable_two_step(&server, &vera);
    let n = 7;
    assert_eq!(kind(n), ("HMAC-SHA256", 8, 60));
    let file = server.data.path().join("python.pskc");
    let script = r#"
import sys, pskc
p = pskc.PSKC()
p.add_key(secret=sys.argv[2].encode(), algorithm="urn:ietf:params:xml:ns:keyprov:pskc:totp",
          manufacturer="Python Tokens", serial="PY60", response_length=8,
          time_interval=60, algorithm_suite="HMAC-SHA256")
p.encryption.setup_pbkdf2("correct horse", fields=["secret", "time_interval"])
p.write(sys.argv[1])
"#;
    let made = Command::new("python3")
        .args(["-c", script])
        .arg(&file)
        .arg(String::from_utf8(seed(n)).unwrap())
        .output()
        .expect("python3 runs");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let xml = std::fs::read_to_string(&file).unwrap();
    assert!(
        xml.contains("<pskc:TimeInterval>\n     <pskc:EncryptedValue>"),
        "python-pskc encrypted the time step: {xml}"
    );

    let path = file.to_str().unwrap();
    let out = admin(
        &server,
        &["import-tokens", path, "--password", "correct horse"],
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Imported 1 tokens"),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let out = admin(&server, &["assign-token", "PY60", "vera"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t = common::otp::settle();
    assert_eq!(signs_in(&server, "vera", &token_code(n, t)), 200);
}
