//! `/healthz` and `/readyz`, as a load balancer polls them.

use crate::common::Server;

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
