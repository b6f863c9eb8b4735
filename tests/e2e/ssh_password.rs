//! `ssh git@HOST password`: SSH key plus a current two-step code (or a
//! recovery code) set a new account password, piped or typed on a pty
//! (driven with tmux); every session ends; wrong codes count.

use serde_json::json;

use crate::common;
use common::accounts::{account, enable_two_step, PASSWORD};
use common::api::ApiClient;
use common::git::Git;
use common::tty::Terminal;
use common::Server;

const NEW_PASSWORD: &str = "plum-lantern-7731-quiet";

fn password_works(server: &Server, name: &str, password: &str) -> bool {
    ApiClient::new(server)
        .call(
            "POST",
            "/session",
            Some(json!({"login": name, "password": password})),
        )
        .0
        == 200
}

#[test]
fn a_new_password_over_ssh_with_a_piped_code() {
    let server = Server::start();
    let ivan = account(&server, "ivan");
    let git = Git::new(&server, "ivan", &ivan.key);

    // Two-step off: no code to prove it, so the mailed reset is offered.
    let out = git.ssh(&["password"], Some("123456\nx\nx\n"));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Two-step verification is off for ivan") && err.contains("/password/forgot"),
        "{err}"
    );

    let (mut phone, codes) = enable_two_step(&server, &ivan);
    // Passwords that differ, or a weak one, change nothing and spend no code.
    let out = git.ssh(
        &["password"],
        Some(&format!(
            "{}\n{NEW_PASSWORD}\nother-password-1234\n",
            codes[0]
        )),
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("The two passwords differ"));
    let out = git.ssh(
        &["password"],
        Some(&format!("{}\nshort\nshort\n", codes[0])),
    );
    assert!(!out.status.success());
    assert!(password_works(&server, "ivan", PASSWORD));

    // A wrong code is counted like any other.
    let out = git.ssh(
        &["password"],
        Some(&format!("000000\n{NEW_PASSWORD}\n{NEW_PASSWORD}\n")),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("attempts left"), "{err}");
    assert!(password_works(&server, "ivan", PASSWORD));
    let log = ivan.api.ok("GET", "/user/security-log", None).to_string();
    assert!(log.contains("second_factor.failed"), "{log}");

    // The right code sets it; every session ends; the owner is mailed.
    let out = git.ssh(
        &["password"],
        Some(&format!(
            "{}\n{NEW_PASSWORD}\n{NEW_PASSWORD}\n",
            phone.next_code()
        )),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Piped: the prompts on stderr, the outcome on stdout.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Two-step code or recovery code for ivan:"),
        "{stderr}"
    );
    assert!(!stdout.contains("Two-step code"), "{stdout}");
    assert!(stdout.contains("is changed"), "{stdout}");
    assert!(!stdout.contains(NEW_PASSWORD));
    server
        .mail
        .wait_for("ivan@example.net", "Your password was changed over SSH");
    let (status, _) = ivan.api.call("GET", "/user", None);
    assert_eq!(status, 401, "the old session was signed out");
    assert!(!password_works(&server, "ivan", PASSWORD));
    assert!(password_works(&server, "ivan", NEW_PASSWORD));

    // A recovery code works too (and is used up).
    let again = "another-fine-passphrase-88";
    let out = git.ssh(
        &["password"],
        Some(&format!("{}\n{again}\n{again}\n", codes[1])),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(password_works(&server, "ivan", again));
    let out = git.ssh(
        &["password"],
        Some(&format!("{}\n{NEW_PASSWORD}\n{NEW_PASSWORD}\n", codes[1])),
    );
    assert!(!out.status.success(), "a recovery code works once");
}

#[test]
fn a_new_password_over_ssh_on_a_pty_is_not_echoed() {
    let server = Server::start();
    let jo = account(&server, "jo");
    let git = Git::new(&server, "jo", &jo.key);
    let (mut phone, _) = enable_two_step(&server, &jo);
    let command = format!(
        "{} -t -p {} git@127.0.0.1 password",
        git.ssh_command(),
        server.ssh_port
    );
    let term = Terminal::run(server.data.path(), "password", &command);
    term.wait_for("Two-step code or recovery code for jo:");
    let code = phone.next_code();
    term.type_line(&code);
    term.wait_for("New password:");
    term.type_line(NEW_PASSWORD);
    term.wait_for("New password again:");
    term.type_line(NEW_PASSWORD);
    let pane = term.wait_for("EXIT=");
    assert!(pane.contains("EXIT=0"), "{pane}");
    assert!(
        !pane.contains(NEW_PASSWORD),
        "the password was echoed:\n{pane}"
    );
    assert!(!pane.contains(&code), "the code was echoed:\n{pane}");
    assert!(pane.contains("is changed"), "{pane}");
    assert!(password_works(&server, "jo", NEW_PASSWORD));
}
