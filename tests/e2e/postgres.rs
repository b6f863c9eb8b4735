//! The scale backend: the same binary and journey on PostgreSQL
//! (TWOSTEP_TEST_POSTGRES, default postgres://postgres@127.0.0.1:5432/test).

use crate::common;

use std::process::Command;

use common::{Server, ServerOptions};

/// A fresh database on the local PostgreSQL server, dropped afterwards.
struct Database {
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

impl Database {
    fn create() -> Database {
        let admin_url = std::env::var("TWOSTEP_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let name = format!("twostep_e2e_{}", std::process::id());
        psql(&admin_url, &format!("DROP DATABASE IF EXISTS {name}"))
            .expect("PostgreSQL must be running at TWOSTEP_TEST_POSTGRES");
        psql(&admin_url, &format!("CREATE DATABASE {name}")).unwrap();
        Database { admin_url, name }
    }

    fn url(&self) -> String {
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
    let db = Database::create();
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
