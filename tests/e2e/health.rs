//! `/healthz` and `/readyz`, as a load balancer polls them.

use std::process::Command;

use crate::common::haproxy::HaProxy;
use crate::common::{Server, ServerOptions};
use crate::postgres::Database;

fn get(server: &Server, path: &str) -> (u16, String) {
    let r = reqwest::blocking::get(server.url(path)).unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

#[test]
fn ready_while_the_database_answers_and_repositories_can_be_written() {
    let server = Server::start();
    assert_eq!(get(&server, "/healthz"), (200, "ok\n".into()));
    assert_eq!(get(&server, "/readyz"), (200, "ready\n".into()));
    // A repositories folder that takes no writes (here: a file in its place).
    let repos = server.data_dir().join("repositories");
    let _ = std::fs::remove_dir_all(&repos);
    std::fs::write(&repos, "not a folder").unwrap();
    assert_eq!(
        get(&server, "/readyz"),
        (
            503,
            "not ready: the repositories folder takes no writes\n".into()
        )
    );
    assert_eq!(get(&server, "/healthz").0, 200, "the process still answers");
    std::fs::remove_file(&repos).unwrap();
    assert_eq!(get(&server, "/readyz").0, 200, "ready again");
}

/// `/readyz` as a balancer's check with a 3 s limit sees it.
fn check_with_limit(server: &Server) -> String {
    let out = Command::new("curl")
        .args(["-s", "--max-time", "3", "-w", "%{http_code}"])
        .arg(server.url("/readyz"))
        .output()
        .unwrap();
    format!(
        "{} {}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout)
    )
}

#[test]
fn a_database_that_stops_answering_is_reported_in_time_and_by_its_error() {
    let Some(db) = Database::create() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // The database behind a relay that can be frozen: packets swallowed,
    // as when the network or the database host goes away.
    let Some((relay, port)) = HaProxy::tcp_to(5432, dir.path()) else {
        return;
    };
    let url = db
        .url()
        .replace("127.0.0.1:5432", &format!("127.0.0.1:{port}"));
    assert_ne!(url, db.url(), "the database URL names 127.0.0.1:5432");
    let server = Server::start_with(ServerOptions {
        database_url: Some(url),
        ..Default::default()
    });
    assert_eq!(check_with_limit(&server), "0 ready\n200");
    relay.signal("-STOP");
    assert_eq!(
        check_with_limit(&server),
        "0 not ready: the database does not answer\n503",
        "a check within 3 s gets its answer"
    );
    relay.signal("-CONT");

    // doctor says why it cannot connect, not that a pool timed out.
    let closed = format!(
        "postgres://postgres@127.0.0.1:{}/test",
        crate::common::free_port()
    );
    let out = Command::new(env!("CARGO_BIN_EXE_twostep"))
        .args(["doctor", "--data-dir"])
        .arg(dir.path().join("data"))
        .args(["--database-url", &closed])
        .output()
        .unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        said.contains("Connection refused") || said.contains("connection refused"),
        "{said}"
    );
    assert!(!said.contains("timed out"), "{said}");
}
