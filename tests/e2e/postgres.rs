//! The scale backend: the same binary and journey on PostgreSQL at
//! TWOSTEP_TEST_POSTGRES (scripts/test.sh sets it); without it these tests
//! say they were skipped and pass.

use crate::common;

use std::process::Command;

use common::{Server, ServerOptions};

/// A fresh database on the local PostgreSQL server, dropped afterwards.
pub struct Database {
    admin_url: String,
    name: String,
}

/// Runs one SQL statement with psql; the error text on failure.
fn psql(url: &str, sql: &str) -> Result<(), String> {
    let out = Command::new("psql")
        .arg(url)
        .args(["-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The PostgreSQL server's URL, or `None` (and a line saying the test is
/// skipped) when TWOSTEP_TEST_POSTGRES is not set.
pub fn server_url() -> Option<String> {
    let url = std::env::var("TWOSTEP_TEST_POSTGRES").ok();
    if url.is_none() {
        eprintln!("skipped: TWOSTEP_TEST_POSTGRES is not set (scripts/test.sh sets it)");
    }
    url
}

impl Database {
    /// `None` when the tests have no PostgreSQL (see `server_url`).
    pub fn create() -> Option<Database> {
        Database::create_named("")
    }

    /// A second database in the same test: `tag` tells them apart.
    pub fn create_named(tag: &str) -> Option<Database> {
        let admin_url = server_url()?;
        let name = format!("twostep_e2e_{}{tag}", std::process::id());
        psql(&admin_url, &format!("DROP DATABASE IF EXISTS {name}"))
            .expect("PostgreSQL must be running at TWOSTEP_TEST_POSTGRES");
        psql(&admin_url, &format!("CREATE DATABASE {name}")).unwrap();
        Some(Database { admin_url, name })
    }

    pub fn url(&self) -> String {
        let (prefix, _) = self.admin_url.rsplit_once('/').unwrap();
        format!("{prefix}/{}", self.name)
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let _ = psql(
            &self.admin_url,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

#[test]
fn the_two_step_lifecycle_on_postgresql() {
    let Some(db) = Database::create() else {
        return;
    };
    {
        let server = Server::start_with(ServerOptions {
            database_url: Some(db.url()),
            ..Default::default()
        });
        common::api::two_step_journey(&server, "erin");
        assert!(server.log_text().contains("postgres://"));
    }
    // `twostep migrate` on an up-to-date database is a no-op that says so.
    let out = Command::new(env!("CARGO_BIN_EXE_twostep"))
        .args(["migrate", "--database-url", &db.url()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("up to date"));
}

/// Two server processes on one PostgreSQL database (one secret key).
fn two_nodes(db: &Database) -> (Server, Server) {
    let node = || {
        Server::start_with(ServerOptions {
            database_url: Some(db.url()),
            env: vec![("TWOSTEP_SECRET_KEY".into(), "ab".repeat(32))],
            ..Default::default()
        })
    };
    (node(), node())
}

/// How many rows a query counts, by psql.
pub fn count(url: &str, sql: &str) -> i64 {
    let out = Command::new("psql")
        .arg(url)
        .args(["-tA", "-c", sql])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[test]
fn bursts_on_two_nodes_evaluate_at_most_the_budget() {
    use serde_json::json;
    let Some(db) = Database::create() else {
        return;
    };
    let (a, b) = two_nodes(&db);
    let bases = [a.base.clone(), b.base.clone()];

    // 120 wrong passwords, split over both nodes at once.
    let owner = common::accounts::account(&a, "pavel");
    let statuses = crate::takeover::wrong_password_burst(&bases, "pavel", 120);
    let evaluated = statuses.iter().filter(|s| **s == 401).count();
    assert!(evaluated <= 10, "{evaluated} evaluated: {statuses:?}");
    assert_eq!(
        evaluated + statuses.iter().filter(|s| **s == 429).count(),
        120,
        "{statuses:?}"
    );
    drop(owner);

    // 100 wrong second-step codes at once, on one half-signed-in session
    // used from both nodes.
    let quinn = common::accounts::account(&a, "quinn");
    let (mut phone, _) = common::accounts::enable_two_step(&a, &quinn);
    let half = common::api::ApiClient::new(&a);
    let r = half.ok(
        "POST",
        "/session",
        Some(json!({"login": "quinn", "password": common::accounts::PASSWORD})),
    );
    assert_eq!(r["status"], "second_step_required");
    let session = half.cookie("twostep_session").expect("a session cookie");
    let statuses = crate::takeover::wrong_code_burst(&bases, &session, 100);
    let failures = count(
        &db.url(),
        "SELECT COUNT(*) FROM second_factor_failures f JOIN users u ON u.id = f.user_id WHERE u.username = 'quinn'",
    );
    assert!(
        failures <= 10,
        "{failures} wrong codes recorded: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    // Text PostgreSQL cannot store is refused with a message, not a 500.
    let api = common::api::ApiClient::new(&a);
    api.err(
        "POST",
        "/users",
        Some(json!({"username": "nul\u{0}l", "email": "n@example.org", "password": "x"})),
        422,
        "control_characters",
    );
    let r = reqwest::blocking::get(b.url("/api/v1/repositories/a%00b/c")).unwrap();
    assert_eq!(r.status().as_u16(), 400);
    // Locked now: even the right code waits.
    half.err(
        "POST",
        "/session/second-step",
        Some(json!({"code": phone.next_code()})),
        429,
        "second_step_locked",
    );
}
