//! Behind a real HAProxy: the client's own address reaches the per-address
//! limits and the security log (X-Forwarded-For for HTTP, a PROXY protocol v2
//! header for SSH), and nobody else can claim an address.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common;
use common::accounts::{account, PASSWORD};
use common::api::ApiClient;
use common::git::{working_copy, Git};
use common::haproxy::HaProxy;
use common::{Server, ServerOptions};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A TCP connection leaving from `local`.
fn connect_from(local: &str, port: u16) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let from: SocketAddr = format!("{local}:0").parse().unwrap();
    socket.bind(&from.into()).unwrap();
    let to: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    socket.connect(&to.into()).unwrap();
    socket.into()
}

/// The address of the newest "Signed in" line of the security log.
fn last_sign_in_address(api: &ApiClient) -> String {
    let log = api.ok("GET", "/user/security-log", None);
    log.as_array()
        .unwrap()
        .iter()
        .find(|e| {
            e["description"]
                .as_str()
                .unwrap_or("")
                .starts_with("Signed in")
        })
        .map(|e| e["ip"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no sign-in in {log}"))
}

fn sign_in(api: &ApiClient, forged: Option<&str>) {
    let mut req = api
        .client
        .post(api.url("/session"))
        .json(&json!({"login": "ada", "password": PASSWORD}));
    if let Some(f) = forged {
        req = req.header("X-Forwarded-For", f);
    }
    let r = req.send().unwrap();
    assert_eq!(r.status().as_u16(), 200, "{}", r.text().unwrap_or_default());
}

#[test]
fn the_client_address_comes_through_haproxy_and_from_nobody_else() {
    let server = Server::start_with(ServerOptions {
        args: vec![
            "--trusted-proxies".into(),
            "127.0.0.1".into(),
            "--ssh-max-per-ip".into(),
            "20".into(),
        ],
        ..Default::default()
    });
    let Some(lb) = HaProxy::start(&server, server.data.path()) else {
        return;
    };
    let ada = account(&server, "ada");
    let through = format!("http://127.0.0.1:{}", lb.http_port);

    // HTTP through HAProxy: the address HAProxy saw, not what the client wrote.
    let laptop = ApiClient::from_address(&through, ip("127.0.0.9"));
    sign_in(&laptop, Some("203.0.113.66"));
    assert_eq!(last_sign_in_address(&laptop), "127.0.0.9");
    // Straight to the node with a forged header: its own address.
    let direct = ApiClient::from_address(&server.base, ip("127.0.0.7"));
    sign_in(&direct, Some("203.0.113.66"));
    assert_eq!(last_sign_in_address(&direct), "127.0.0.7");

    // From the trusted address itself: a line that is not text stops the
    // walk there (it may hide a hop), whatever follows it.
    let from_proxy = ApiClient::from_address(&server.base, ip("127.0.0.1"));
    let r = from_proxy
        .client
        .post(from_proxy.url("/session"))
        .header("X-Forwarded-For", "198.51.100.66")
        .header(
            "X-Forwarded-For",
            reqwest::header::HeaderValue::from_bytes(b"\x80, 203.0.113.9").unwrap(),
        )
        .json(&json!({"login": "ada", "password": PASSWORD}))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(last_sign_in_address(&from_proxy), "127.0.0.1");

    // SSH: 20 connections held open from 127.0.0.2 through HAProxy use that
    // address's whole allowance; a 21st from it is refused.
    ada.api
        .ok("POST", "/repositories", Some(json!({"name": "proj"})));
    // Straight to the node (not from the balancer's address, which must
    // send a PROXY header).
    let git = Git::new(&server, "ada", &ada.key).connecting_from("127.0.0.30");
    let src = server.data.path().join("src");
    working_copy(&git, &src, &[("README.md", "hello\n")]);
    git.ok(
        &["push", "-q", &git.ssh_url("ada", "proj"), "main"],
        Some(&src),
    );
    let held: Vec<TcpStream> = (0..20)
        .map(|_| {
            let mut s = connect_from("127.0.0.2", lb.ssh_port);
            s.write_all(b"SSH-2.0-held\r\n").unwrap();
            let mut banner = [0u8; 4];
            s.read_exact(&mut banner).unwrap();
            assert_eq!(&banner, b"SSH-");
            s
        })
        .collect();
    let over = Git::at(
        server.data.path().join("home-over"),
        lb.ssh_port,
        "ada",
        &ada.key,
    )
    .connecting_from("127.0.0.2");
    let refused = over.fails(&["ls-remote", &over.ssh_url("ada", "proj")], None);
    assert!(!refused.contains("Permission denied"), "{refused}");
    assert!(server.log_text().contains("too many open connections"));

    // 25 developers at once, each from their own address: all clone.
    let clones: Vec<_> = (3..28)
        .map(|n| {
            let home = server.data.path().join(format!("home-{n}"));
            let dev = Git::at(home.clone(), lb.ssh_port, "ada", &ada.key)
                .connecting_from(&format!("127.0.0.{n}"));
            std::thread::spawn(move || {
                let url = dev.ssh_url("ada", "proj");
                dev.ok(
                    &["clone", "-q", &url, home.join("proj").to_str().unwrap()],
                    None,
                );
                std::fs::read_to_string(home.join("proj/README.md")).unwrap()
            })
        })
        .collect();
    for c in clones {
        assert_eq!(c.join().unwrap(), "hello\n");
    }
    drop(held);

    // The trusted address without a PROXY header (a balancer forwarding
    // without send-proxy would pass its client's own header on): refused.
    let mut bare = connect_from("127.0.0.1", server.ssh_port);
    bare.write_all(b"SSH-2.0-bare\r\n").unwrap();
    bare.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let _ = bare.read_to_end(&mut Vec::new());
    server.wait_for_log("no PROXY header", 1);

    // A PROXY header straight from a client that is not a trusted proxy: cut.
    let mut forged = connect_from("127.0.0.8", server.ssh_port);
    forged
        .write_all(b"PROXY TCP4 203.0.113.66 127.0.0.1 40000 22\r\nSSH-2.0-forged\r\n")
        .unwrap();
    forged
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut seen = Vec::new();
    let _ = forged.read_to_end(&mut seen);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.log_text().contains("not a trusted proxy") {
        assert!(Instant::now() < deadline, "{}", server.log_text());
        std::thread::sleep(Duration::from_millis(50));
    }
}
