//! The command line: help texts, configuration layering (file < env < flags),
//! and clear refusals of bad settings.

use crate::common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::free_port;

fn twostep() -> Command {
    Command::new(env!("CARGO_BIN_EXE_twostep"))
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `twostep serve` with `args`/`envs` and waits for `url` to answer.
fn serve(args: &[&str], envs: &[(&str, &str)], url: &str) -> Running {
    let mut cmd = twostep();
    cmd.arg("serve")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let running = Running(cmd.spawn().unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    while reqwest::blocking::get(url).is_err() {
        assert!(Instant::now() < deadline, "server at {url} did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    running
}

#[test]
fn help_explains_every_command_and_option() {
    let out = twostep().arg("--help").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for s in ["serve", "migrate", "openapi", "TWOSTEP_HTTP_ADDR"] {
        assert!(text.contains(s), "--help lacks {s}:\n{text}");
    }
    let out = twostep().args(["serve", "--help"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for s in [
        "--data-dir",
        "--http-addr",
        "--ssh-addr",
        "--database-url",
        "--public-url",
        "--issuer",
        "--smtp-url",
        "--config",
        "TWOSTEP_SMTP_URL",
    ] {
        assert!(text.contains(s), "serve --help lacks {s}:\n{text}");
    }
    let out = twostep().arg("openapi").output().unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["paths"]["/api/v1/session"].is_object());
}

#[test]
fn settings_come_from_the_file_then_the_environment_then_flags() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = dir.path().join("twostep.toml");
    std::fs::write(
        &config,
        format!(
            "http_addr = \"127.0.0.1:{port}\"\nssh_addr = \"127.0.0.1:{}\"\nissuer = \"FromFile\"\ndata_dir = \"{}\"\n",
            free_port(),
            dir.path().join("d").display()
        ),
    )
    .unwrap();
    let url = format!("http://127.0.0.1:{port}/signin");
    let title = |url: &str| reqwest::blocking::get(url).unwrap().text().unwrap();
    {
        let _s = serve(&["--config", config.to_str().unwrap()], &[], &url);
        assert!(title(&url).contains("Sign in · FromFile"));
    }
    {
        let _s = serve(
            &["--config", config.to_str().unwrap()],
            &[("TWOSTEP_ISSUER", "FromEnv")],
            &url,
        );
        assert!(title(&url).contains("Sign in · FromEnv"));
    }
    {
        let _s = serve(
            &["--config", config.to_str().unwrap(), "--issuer", "FromFlag"],
            &[("TWOSTEP_ISSUER", "FromEnv")],
            &url,
        );
        assert!(title(&url).contains("Sign in · FromFlag"));
    }
    // The data folder holds the SQLite file, the secret key and the outbox.
    for f in ["twostep.db", "secret.key", "outbox"] {
        assert!(dir.path().join("d").join(f).exists(), "{f} missing");
    }
}

#[test]
fn cookies_are_secure_behind_an_https_public_url() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/signin");
    let _s = serve(
        &[
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--http-addr",
            &format!("127.0.0.1:{port}"),
            "--public-url",
            "https://git.example.com",
            "--ssh-addr",
            &format!("127.0.0.1:{}", free_port()),
        ],
        &[],
        &url,
    );
    let res = reqwest::blocking::get(&url).unwrap();
    let cookie = res.headers().get("set-cookie").unwrap().to_str().unwrap();
    assert!(
        cookie.contains("Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    // `__Host-` pins the cookie to this host: no subdomain can plant one.
    assert!(
        cookie.starts_with("__Host-twostep_csrf=") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(!cookie.contains("Domain"), "{cookie}");
}

#[test]
fn bad_settings_are_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let cases: [(&[&str], &str); 3] = [
        (
            &["--public-url", "ftp://x"],
            "public URL must start with http",
        ),
        (
            &["--database-url", "mysql://x/y"],
            "unsupported database URL",
        ),
        (&["--config", "/nonexistent/twostep.toml"], "does not exist"),
    ];
    for (args, message) in cases {
        let out = twostep()
            .args([
                "serve",
                "--data-dir",
                d,
                "--http-addr",
                "127.0.0.1:0",
                "--ssh-addr",
                "127.0.0.1:0",
            ])
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(message), "{args:?}: {err}");
    }
}

#[test]
fn json_logs_are_one_object_a_line() {
    let server = crate::common::Server::start_with(crate::common::ServerOptions {
        args: vec!["--log-format".into(), "json".into()],
        ..Default::default()
    });
    let log = server.log_text();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let serving = lines
        .iter()
        .find(|l| l["fields"]["message"] == "twostep is serving")
        .unwrap_or_else(|| panic!("{log}"));
    assert_eq!(serving["level"], "INFO");
    assert!(serving["fields"]["web"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1:"));
}

#[test]
fn doctor_says_what_to_fix() {
    let server = crate::common::Server::start();
    let doctor = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_twostep"))
            .args(["doctor", "--data-dir"])
            .arg(server.data_dir())
            .output()
            .unwrap()
    };
    let out = doctor();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("schema is current") && text.contains("Everything looks right."),
        "{text}"
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(server.data_dir(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = doctor();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!out.status.success());
    assert!(
        text.contains(&format!("chmod 700 {}", server.data_dir().display())),
        "{text}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 thing(s) to fix"));
    std::fs::set_permissions(server.data_dir(), std::fs::Permissions::from_mode(0o700)).unwrap();
}

/// The README's table of what each action needs is `twostep requirements`,
/// word for word: a change to the declarations shows in the README.
#[test]
fn the_readme_shows_the_requirement_table_as_declared() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_twostep"))
        .arg("requirements")
        .output()
        .unwrap();
    assert!(out.status.success());
    let printed = String::from_utf8(out.stdout).unwrap();
    let readme = std::fs::read_to_string(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../README.md"),
    )
    .unwrap();
    let begin = "<!-- requirements:begin -->\n";
    let at = readme.find(begin).expect("the README's requirement table") + begin.len();
    let end = readme[at..]
        .find("<!-- requirements:end -->")
        .expect("its end marker");
    assert!(
        readme[at..at + end] == printed,
        "README.md's requirement table differs from `twostep requirements`: paste its output between the markers"
    );
}
