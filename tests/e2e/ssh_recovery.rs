//! `ssh git@HOST recovery_codes`: SSH key plus account password give fresh
//! recovery codes, piped or typed on a pty (driven with tmux).

use crate::common;
use crate::common::codes_in;

use serde_json::json;

use common::accounts::{account, enable_two_step, PASSWORD};
use common::git::Git;
use common::tty::Terminal;
use common::Server;

/// Password, then the second step with `code`: true if sign-in completes.
fn sign_in_with(server: &Server, name: &str, code: &str) -> bool {
    let api = common::api::ApiClient::new(server);
    api.ok(
        "POST",
        "/session",
        Some(json!({"login": name, "password": PASSWORD})),
    );
    api.call("POST", "/session/second-step", Some(json!({"code": code})))
        .0
        == 200
}

#[test]
fn recovery_codes_over_ssh_with_piped_password() {
    let server = Server::start();
    let dave = account(&server, "dave");
    let git = Git::new(&server, "dave", &dave.key);

    // Two-step off: nothing to recover, said plainly.
    let out = git.ssh(&["recovery_codes"], Some(&format!("{PASSWORD}\n")));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Two-step verification is off for dave"));
    // Said before asking for the password.
    assert!(!String::from_utf8_lossy(&out.stderr).contains("Password for"));

    let (_, old_codes) = enable_two_step(&server, &dave);
    let out = git.ssh(&["recovery_codes"], Some(&format!("{PASSWORD}\n")));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Piped: the prompt on stderr, so the output a script keeps holds the
    // codes and no prompt.
    assert!(String::from_utf8_lossy(&out.stderr).contains("Password for dave:"));
    assert!(!stdout.contains("Password for"), "{stdout}");
    let new_codes = codes_in(&stdout);
    assert_eq!(new_codes.len(), 6, "{stdout}");
    server.mail.wait_for(
        "dave@example.net",
        "New recovery codes were generated over SSH",
    );

    // The old codes stop working; the new ones work, once.
    assert!(!sign_in_with(&server, "dave", &old_codes[0]));
    assert!(sign_in_with(&server, "dave", &new_codes[0]));
    assert!(!sign_in_with(&server, "dave", &new_codes[0]));

    // A wrong password is limited, mailed and logged.
    let out = git.ssh(&["recovery_codes"], Some("not-my-password\n"));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Wrong password.") && err.contains("limited to 10"),
        "{err}"
    );
    server.mail.wait_for(
        "dave@example.net",
        "Failed request for recovery codes over SSH",
    );
    let log = dave.api.ok("GET", "/user/security-log", None).to_string();
    assert!(
        log.contains("recovery_codes.regenerated_over_ssh") && log.contains("ssh.password_failed"),
        "{log}"
    );
    assert!(log.contains("\"channel\":\"ssh\""));
    // No password at all (EOF) changes nothing.
    let out = git.ssh(&["recovery_codes"], None);
    assert!(!out.status.success());
    assert!(
        sign_in_with(&server, "dave", &new_codes[1]),
        "codes unchanged after an aborted request"
    );
}

#[test]
fn recovery_codes_over_ssh_on_a_pty_do_not_echo_the_password() {
    let server = Server::start();
    let erin = account(&server, "erin");
    let git = Git::new(&server, "erin", &erin.key);
    enable_two_step(&server, &erin);
    let command = format!(
        "{} -t -p {} git@127.0.0.1 recovery_codes",
        git.ssh_command(),
        server.ssh_port
    );
    let term = Terminal::run(server.data.path(), "recovery", &command);
    term.wait_for("Password for erin:");
    term.type_line(PASSWORD);
    let pane = term.wait_for("EXIT=");
    assert!(pane.contains("EXIT=0"), "{pane}");
    assert!(!pane.contains(PASSWORD), "the password was echoed:\n{pane}");
    assert!(!pane.contains("PTY allocation request failed"), "{pane}");
    let codes = codes_in(&pane);
    assert_eq!(codes.len(), 6, "{pane}");
    assert!(sign_in_with(&server, "erin", &codes[5]));
}

#[test]
fn ssh_without_a_command_greets_on_a_terminal_with_or_without_t() {
    let server = Server::start();
    let hana = account(&server, "hana");
    let git = Git::new(&server, "hana", &hana.key);
    for (name, flag) in [
        ("greeting", ""),
        ("greeting-t", "-t"),
        ("greeting-tt", "-tt"),
    ] {
        let command = format!(
            "{} {flag} -p {} git@127.0.0.1",
            git.ssh_command(),
            server.ssh_port
        );
        let term = Terminal::run(server.data.path(), name, &command);
        let pane = term.wait_for("EXIT=");
        assert!(
            !pane.contains("PTY allocation request failed"),
            "{flag}: {pane}"
        );
        assert!(
            pane.contains(
                "logged in as hana. You can use git to connect to twostep. Shell access is disabled."
            ),
            "{flag}: {pane}"
        );
        assert!(pane.contains("EXIT=0"), "{flag}: {pane}");
    }
}

/// The command the help page prints, typed exactly as shown into a real
/// terminal (its SSH options from ~/.ssh/config, as a person's would be):
/// the password is not shown. Without `-t` the first line says how to hide
/// it; `recover` takes the terminal too.
#[test]
fn the_command_the_help_page_prints_hides_the_password_when_typed_as_shown() {
    let server = Server::start();
    let fay = account(&server, "fay");
    enable_two_step(&server, &fay);
    let help = reqwest::blocking::get(server.url("/help/recovery"))
        .unwrap()
        .text()
        .unwrap();
    let shown = common::texts(&help, "code")
        .into_iter()
        .find(|c| c.ends_with(" recovery_codes"))
        .expect("the help page shows the recovery_codes command");
    assert!(shown.starts_with("ssh -t "), "{shown}");
    // fay's own SSH settings (OpenSSH reads ~/.ssh/config from the password
    // database, not $HOME: an `ssh` first on PATH hands it the file).
    let home = server.data.path().join("fay-home");
    std::fs::create_dir_all(&home).unwrap();
    let config = home.join("ssh_config");
    std::fs::write(
        &config,
        format!(
            "Host *\n  IdentityFile {}\n  IdentitiesOnly yes\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n",
            fay.key.display()
        ),
    )
    .unwrap();
    let ssh = home.join("ssh");
    std::fs::write(
        &ssh,
        format!(
            "#!/bin/sh\nexec /usr/bin/ssh -F {} \"$@\"\n",
            config.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&ssh, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let as_typed = |line: &str| format!("PATH={}:$PATH {line}", home.display());

    let term = Terminal::run(server.data.path(), "hint", &as_typed(&shown));
    term.wait_for("Password for fay:");
    term.type_line(PASSWORD);
    let pane = term.wait_for("EXIT=");
    assert!(pane.contains("EXIT=0"), "{pane}");
    assert!(!pane.contains(PASSWORD), "the password was shown:\n{pane}");
    assert_eq!(codes_in(&pane).len(), 6, "{pane}");

    // Without -t: told first, before the password is asked.
    let plain = shown.replacen("ssh -t ", "ssh ", 1);
    let term = Terminal::run(server.data.path(), "plain", &as_typed(&plain));
    let pane = term.wait_for("Password for fay:");
    let told = pane
        .find("Typing here shows on screen")
        .expect("the first line says how to hide it");
    assert!(told < pane.find("Password for fay:").unwrap(), "{pane}");
    assert!(
        pane.contains(&shown),
        "the way to hide it is the -t command:\n{pane}"
    );

    // `recover` (and its --cancel) with -t: the terminal is granted.
    let recover = shown.replace(" recovery_codes", " recover");
    // (A tmux server apiece: one being killed would take a new session on
    // the same socket with it.)
    for (name, line) in [
        ("recover", recover.clone()),
        ("recover-cancel", format!("{recover} --cancel")),
    ] {
        let term = Terminal::run(server.data.path(), name, &as_typed(&line));
        let pane = term.wait_for("EXIT=");
        assert!(!pane.contains("PTY allocation request failed"), "{pane}");
        assert!(pane.contains("EXIT=0"), "{line}:\n{pane}");
    }
}
