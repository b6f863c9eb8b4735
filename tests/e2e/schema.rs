//! The JSON API against its own OpenAPI document, probed by Schemathesis (a
//! property-based API tester we did not write): generated and malformed
//! requests on every operation get no 5xx, and every answer matches the
//! documented schema.

use std::process::Command;

use crate::common;
use common::accounts::{account, PASSWORD};
use common::Server;

#[test]
fn schemathesis_finds_no_server_error_and_no_schema_violation() {
    let server = Server::start();
    account(&server, "rita");
    // HTTP Basic with the account password (two-step is off): the generated
    // requests cannot sign it out, as they could a cookie session.
    let basic = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(format!("rita:{PASSWORD}"))
    };
    let report = server.data.path().join("schemathesis");
    let out = Command::new("st")
        .arg("run")
        .arg(server.url("/api/v1/openapi.json"))
        .args([
            "--checks",
            "not_a_server_error,response_schema_conformance",
            "--max-examples",
            "10",
            "--request-timeout",
            "30",
            "--seed",
            "20261201",
            "--header",
            &format!("Authorization: Basic {basic}"),
            "--report-dir",
        ])
        .arg(&report)
        .env("NO_COLOR", "1")
        .current_dir(server.data.path())
        .output()
        .expect(
            "schemathesis is installed (the test script installs it: pip install schemathesis)",
        );
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("passed"), "{text}");
    assert!(
        !server.log_text().contains("internal error"),
        "{}",
        server.log_text()
    );
}
