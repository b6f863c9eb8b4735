//! What floods cost the server: one SSH connection runs at most 10 channels,
//! one address holds at most its share of SSH connections, a client that
//! never signs in is cut off, clients that never finish their request head
//! do not starve a real sign-in, and a flood of sign-ins stays within a
//! bounded amount of memory.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common;
use common::accounts::{account, PASSWORD};
use common::{Server, ServerOptions};

/// OpenSSH's multiplexing: one master connection, many sessions over it.
struct Multiplexed {
    master: Child,
    socket: std::path::PathBuf,
    base: Vec<String>,
}

impl Multiplexed {
    fn open(server: &Server, key: &std::path::Path) -> Multiplexed {
        let socket = server.data.path().join("mux.sock");
        let mut base: Vec<String> = vec!["-i".into(), key.to_str().unwrap().into()];
        base.extend(common::git::SSH_OPTIONS.iter().map(|s| s.to_string()));
        base.extend([
            "-p".to_string(),
            server.ssh_port.to_string(),
            "-S".to_string(),
            socket.to_str().unwrap().to_string(),
        ]);
        let master = Command::new("ssh")
            .args(&base)
            .args(["-M", "-N", "git@127.0.0.1"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Ready once `-O check` answers (before that, a session would fall
        // back to a connection of its own).
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let check = Command::new("ssh")
                .args(&base)
                .args(["-O", "check", "git@127.0.0.1"])
                .stderr(Stdio::null())
                .status()
                .unwrap();
            if check.success() {
                break;
            }
            assert!(Instant::now() < deadline, "the ssh master did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Multiplexed {
            master,
            socket,
            base,
        }
    }

    /// A session running `command` with stdin held open.
    fn session(&self, command: &str) -> Child {
        Command::new("ssh")
            .args(&self.base)
            .args(["git@127.0.0.1", command])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }
}

impl Drop for Multiplexed {
    fn drop(&mut self) {
        let _ = self.master.kill();
        let _ = self.master.wait();
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// Whether each session got git's advertisement (true) or ended refused.
fn outcomes(children: &mut [Child]) -> Vec<bool> {
    let (tx, rx) = mpsc::channel();
    for (i, c) in children.iter_mut().enumerate() {
        let mut out = c.stdout.take().unwrap();
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut first = [0u8; 4];
            let got = out.read(&mut first).map(|n| n > 0).unwrap_or(false);
            let _ = tx.send((i, got));
        });
    }
    let mut result = vec![false; children.len()];
    for _ in 0..children.len() {
        let (i, got) = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("every session answers or ends");
        result[i] = got;
    }
    result
}

#[test]
fn one_ssh_connection_runs_at_most_ten_channels() {
    // One connection per address: sessions cannot fall back to their own.
    let server = Server::start_with(ServerOptions {
        args: vec!["--ssh-max-per-ip".into(), "1".into()],
        ..Default::default()
    });
    let rita = account(&server, "rita");
    rita.api
        .ok("POST", "/repositories", Some(json!({"name": "notes"})));
    let mux = Multiplexed::open(&server, &rita.key);
    let mut sessions: Vec<Child> = (0..14)
        .map(|_| mux.session("git-upload-pack 'rita/notes.git'"))
        .collect();
    let served = outcomes(&mut sessions);
    let n = served.iter().filter(|s| **s).count();
    assert_eq!(n, 10, "{served:?}");
    for mut s in sessions {
        drop(s.stdin.take());
        let _ = s.kill();
        let _ = s.wait();
    }
    // Closed channels give their places back.
    let mut again: Vec<Child> = (0..3)
        .map(|_| mux.session("git-upload-pack 'rita/notes.git'"))
        .collect();
    let served = outcomes(&mut again);
    assert!(served.iter().all(|s| *s), "{served:?}");
    for mut s in again {
        let _ = s.kill();
        let _ = s.wait();
    }
}

/// Reads what the server sends first: its SSH banner, or nothing (closed).
fn banner(stream: &mut TcpStream) -> String {
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut buf = [0u8; 64];
    match stream.read(&mut buf) {
        Ok(n) => String::from_utf8_lossy(&buf[..n]).to_string(),
        Err(e) => panic!("the server neither greeted nor closed: {e}"),
    }
}

#[test]
fn ssh_connections_are_capped_per_address_and_must_sign_in_in_time() {
    let server = Server::start_with(ServerOptions {
        args: vec!["--ssh-max-per-ip".into(), "5".into()],
        env: vec![("TWOSTEP_SSH_AUTH_TIMEOUT".into(), "2".into())],
        ..Default::default()
    });
    let addr = format!("127.0.0.1:{}", server.ssh_port);
    let mut held: Vec<TcpStream> = (0..5).map(|_| TcpStream::connect(&addr).unwrap()).collect();
    for s in &mut held {
        assert!(banner(s).starts_with("SSH-2.0-"));
    }
    let mut extra = TcpStream::connect(&addr).unwrap();
    assert_eq!(
        banner(&mut extra),
        "",
        "a sixth connection is closed at once"
    );
    // The five never sign in: each is cut once its time is up.
    for s in &mut held {
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut rest = Vec::new();
        s.read_to_end(&mut rest)
            .expect("the server closes a connection that does not sign in");
    }
    // Their places are free again.
    let mut next = TcpStream::connect(&addr).unwrap();
    assert!(banner(&mut next).starts_with("SSH-2.0-"));
}

/// Open file descriptors of a process.
fn open_files(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

/// Connections that send their version banner and nothing more: the server's
/// session task would hold each socket past the deadline while the slot was
/// given back, so one address could open ever more. The deadline must close
/// the socket itself, and free the slot only then.
#[test]
fn banner_only_ssh_connections_are_closed_at_the_deadline() {
    let server = Server::start_with(ServerOptions {
        args: vec!["--ssh-max-per-ip".into(), "5".into()],
        env: vec![("TWOSTEP_SSH_AUTH_TIMEOUT".into(), "2".into())],
        ..Default::default()
    });
    let addr = format!("127.0.0.1:{}", server.ssh_port);
    let before = open_files(server.pid());
    for round in 0..2 {
        // A slot is given back just after its socket closed: wait for it.
        let open_one = || {
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let mut s = TcpStream::connect(&addr).unwrap();
                let greeted = s
                    .write_all(b"SSH-2.0-OpenSSH_9.2p1 banner-only\r\n")
                    .is_ok()
                    && {
                        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                        let mut buf = [0u8; 64];
                        matches!(s.read(&mut buf), Ok(n) if buf[..n].starts_with(b"SSH-2.0-"))
                    };
                if greeted {
                    return s;
                }
                assert!(
                    Instant::now() < deadline,
                    "round {round}: no slot came free"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        };
        let mut held: Vec<TcpStream> = (0..5).map(|_| open_one()).collect();
        let mut extra = TcpStream::connect(&addr).unwrap();
        assert_eq!(
            banner(&mut extra),
            "",
            "round {round}: a sixth is closed at once"
        );
        let opened = Instant::now();
        for s in &mut held {
            s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            let mut rest = Vec::new();
            s.read_to_end(&mut rest)
                .expect("the server closes a connection that sends only its banner");
        }
        assert!(
            opened.elapsed() < Duration::from_secs(15),
            "closed at the 2 s deadline, not at the inactivity timeout"
        );
    }
    // Every socket of those ten connections is closed on the server's side.
    let deadline = Instant::now() + Duration::from_secs(10);
    while open_files(server.pid()) > before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        open_files(server.pid()) <= before,
        "open files: {} before, {} after",
        before,
        open_files(server.pid())
    );
}

#[test]
fn clients_that_never_finish_a_request_do_not_starve_a_sign_in() {
    let server = Server::start_with(ServerOptions {
        args: vec!["--http-max-connections".into(), "40".into()],
        ..Default::default()
    });
    account(&server, "rita");
    let addr = server.base.trim_start_matches("http://").to_string();
    let slow: Vec<TcpStream> = (0..120)
        .map(|_| {
            let mut s = TcpStream::connect(&addr).unwrap();
            s.write_all(b"POST /signin HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                .unwrap();
            s
        })
        .collect();
    let r = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
        .post(server.url("/api/v1/session"))
        .json(&json!({"login": "rita", "password": PASSWORD}))
        .send()
        .expect("a real sign-in gets through");
    assert_eq!(r.status().as_u16(), 200);
    // The slow ones were cut off.
    let mut first = slow.into_iter().next().unwrap();
    first
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut rest = Vec::new();
    first
        .read_to_end(&mut rest)
        .expect("a slow client's connection is closed");
}

/// kB of a /proc/PID/status field.
fn status_kb(pid: u32, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn a_flood_of_sign_ins_stays_within_bounded_memory() {
    let server = Server::start();
    let threads: Vec<_> = (0..300)
        .map(|i| {
            let url = server.url("/api/v1/session");
            std::thread::spawn(move || {
                reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(120))
                    .build()
                    .unwrap()
                    .post(url)
                    .json(&json!({"login": format!("nobody{i}"), "password": "made-up-password"}))
                    .send()
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0)
            })
        })
        .collect();
    let statuses: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    // Every one is answered: refused, or told to come back (503 + Retry-After).
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 503),
        "{statuses:?}"
    );
    assert!(statuses.contains(&401));
    let peak = status_kb(server.pid(), "VmHWM:");
    let now = status_kb(server.pid(), "VmRSS:");
    assert!(peak < 512 * 1024, "peak RSS {peak} kB");
    assert!(now < 256 * 1024, "RSS after the flood {now} kB");
}
