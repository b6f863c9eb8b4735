//! Prometheus metrics on their own address: a short mixed load (sign-ins,
//! a wrong code, a lock, pushes and clones over SSH and HTTPS), then a scrape
//! that Prometheus' own `promtool check metrics` accepts and whose counters
//! moved as the load says.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::json;

use crate::common;

use common::accounts::{account, enable_two_step, PASSWORD};
use common::api::ApiClient;
use common::git::{working_copy, Git};
use common::{free_port, Server, ServerOptions};

fn scrape(port: u16) -> String {
    let r = reqwest::blocking::get(format!("http://127.0.0.1:{port}/metrics")).unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let kind = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(kind.starts_with("text/plain"), "{kind}");
    r.text().unwrap()
}

/// The value of the one series whose line starts with `name{` and holds
/// every label in `labels` (0 when there is none).
fn value(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter(|l| labels.iter().all(|want| l.contains(want)))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum()
}

fn promtool(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool is installed (the test script installs Debian's prometheus)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn metrics_pass_promtool_and_count_the_load() {
    let port = free_port();
    let server = Server::start_with(ServerOptions {
        args: vec!["--metrics-addr".into(), format!("127.0.0.1:{port}")],
        ..Default::default()
    });
    let before = scrape(port);
    promtool(&before);
    assert_eq!(value(&before, "twostep_ssh_sessions_open", &[]), 0.0);
    // Not on the public address.
    let r = reqwest::blocking::get(server.url("/metrics")).unwrap();
    assert_eq!(r.status().as_u16(), 404);

    // Sign-ins: one through, one wrong code, then a lock.
    let mia = account(&server, "mia");
    let (mut phone, codes) = enable_two_step(&server, &mia);
    // The app password of the Git part, made now with a recovery code (a
    // fresh second factor: the second step is locked later on).
    let created = mia.api.ok(
        "POST",
        "/user/app-passwords",
        Some(json!({"label": "ci", "scopes": ["repository:read"], "code": codes[0]})),
    );
    let api = ApiClient::new(&server);
    api.ok(
        "POST",
        "/session",
        Some(json!({"login": "mia", "password": PASSWORD})),
    );
    api.ok(
        "POST",
        "/session/second-step",
        Some(json!({"code": phone.next_code()})),
    );
    let wrong = ApiClient::new(&server);
    wrong.err(
        "POST",
        "/session",
        Some(json!({"login": "mia", "password": "not-the-password"})),
        401,
        "bad_credentials",
    );
    wrong.ok(
        "POST",
        "/session",
        Some(json!({"login": "mia", "password": PASSWORD})),
    );
    let mut wrong_codes = 0;
    for i in 0..20 {
        let (status, _) = wrong.call(
            "POST",
            "/session/second-step",
            Some(json!({"code": format!("{:06}", 200_000 + i * 11)})),
        );
        if status == 429 {
            break;
        }
        wrong_codes += 1;
    }

    // Git: a push and a clone over SSH, a clone over HTTPS with an app password.
    mia.api.ok(
        "POST",
        "/repositories",
        Some(json!({"name": "notes", "description": "", "private": true})),
    );
    let git = Git::new(&server, "mia", &mia.key);
    let work = server.data.path().join("work");
    git.ok(
        &[
            "clone",
            "-q",
            &git.ssh_url("mia", "notes"),
            work.to_str().unwrap(),
        ],
        None,
    );
    working_copy(&git, &work, &[("a.txt", "one\n")]);
    git.ok(&["push", "-q", "origin", "HEAD:main"], Some(&work));
    git.store_credentials(&server, "mia", created["password"].as_str().unwrap());
    let copy = server.data.path().join("copy");
    git.ok(
        &[
            "clone",
            "-q",
            &server.url("/mia/notes.git"),
            copy.to_str().unwrap(),
        ],
        None,
    );
    // A clone of a repository that does not exist is not an operation.
    git.fails(&["ls-remote", &git.ssh_url("mia", "nothing")], None);

    let after = scrape(port);
    promtool(&after);
    let w = wrong_codes as f64;
    // (series, labels it must carry, the sum over the matching lines)
    let expected: &[(&str, &[&str], f64)] = &[
        // Before two-step was on, then twice after.
        (
            "twostep_signins_total",
            &[
                "channel=\"api\"",
                "step=\"password\"",
                "result=\"signed_in\"",
            ],
            1.0,
        ),
        (
            "twostep_signins_total",
            &[
                "channel=\"api\"",
                "step=\"password\"",
                "result=\"second_step_required\"",
            ],
            2.0,
        ),
        (
            "twostep_signins_total",
            &["step=\"password\"", "result=\"wrong_password\""],
            1.0,
        ),
        (
            "twostep_signins_total",
            &["step=\"second_step\"", "result=\"signed_in\""],
            1.0,
        ),
        (
            "twostep_signins_total",
            &["step=\"second_step\"", "result=\"wrong_code\""],
            w,
        ),
        (
            "twostep_signins_total",
            &["step=\"second_step\"", "result=\"locked\""],
            1.0,
        ),
        (
            "twostep_security_events_total",
            &["event=\"second_factor.failed\""],
            w,
        ),
        (
            "twostep_security_events_total",
            &["event=\"second_step.locked\""],
            1.0,
        ),
        (
            "twostep_security_events_total",
            &["event=\"two_step.enabled\""],
            1.0,
        ),
        (
            "twostep_git_operations_total",
            &[
                "transport=\"ssh\"",
                "service=\"git-upload-pack\"",
                "result=\"ok\"",
            ],
            1.0,
        ),
        (
            "twostep_git_operations_total",
            &[
                "transport=\"ssh\"",
                "service=\"git-receive-pack\"",
                "result=\"ok\"",
            ],
            1.0,
        ),
        (
            "twostep_git_operations_total",
            &[
                "transport=\"https\"",
                "service=\"git-upload-pack\"",
                "result=\"ok\"",
            ],
            // Protocol v2: ls-refs, then fetch.
            2.0,
        ),
        (
            "twostep_git_operations_total",
            &[
                "transport=\"https\"",
                "service=\"info-refs\"",
                "result=\"ok\"",
            ],
            1.0,
        ),
        ("twostep_git_operations_total", &["result=\"failed\""], 0.0),
        (
            "twostep_git_operation_duration_seconds_count",
            &["transport=\"ssh\""],
            2.0,
        ),
        ("twostep_password_hash_queue_depth", &[], 0.0),
    ];
    for (name, labels, want) in expected {
        assert_eq!(
            value(&after, name, labels),
            *want,
            "{name} {labels:?}:\n{after}"
        );
    }
    assert!(
        after.contains("twostep_git_operation_duration_seconds_bucket{"),
        "{after}"
    );
    // Every HTTP request timed, by surface: pages, the API, git, health.
    for surface in ["pages", "api", "git"] {
        let label = format!("surface=\"{surface}\"");
        assert!(
            value(
                &after,
                "twostep_http_request_duration_seconds_count",
                &[&label]
            ) >= 1.0,
            "no {surface} requests timed:\n{after}"
        );
    }
    assert!(
        after.contains("twostep_http_request_duration_seconds_bucket{le=\"0.005\",surface=\"api\",status=\"2xx\"}")
            || after.contains("twostep_http_request_duration_seconds_bucket{surface=\"api\",status=\"2xx\",le=\"0.005\"}"),
        "{after}"
    );
    // Connections close just after git's exit is reported.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while value(&scrape(port), "twostep_ssh_sessions_open", &[]) != 0.0 {
        assert!(
            std::time::Instant::now() < deadline,
            "SSH sessions still counted open"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
