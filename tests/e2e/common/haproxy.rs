//! A real HAProxy in front of one server: HTTP in `mode http` with
//! `option forwardfor`, SSH in `mode tcp` sending a PROXY protocol v2 header.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{free_port, Server};

pub struct HaProxy {
    child: Child,
    pub http_port: u16,
    pub ssh_port: u16,
}

impl HaProxy {
    /// `None` (with a note) where HAProxy is not installed.
    pub fn start(server: &Server, dir: &Path) -> Option<HaProxy> {
        if Command::new("haproxy").arg("-v").output().is_err() {
            eprintln!("haproxy is not installed: skipped (scripts/test.sh installs it)");
            return None;
        }
        let (http_port, ssh_port) = (free_port(), free_port());
        let config = format!(
            "global\n  maxconn 1000\n\
             defaults\n  timeout connect 5s\n  timeout client 120s\n  timeout server 120s\n\
             frontend web\n  mode http\n  bind 127.0.0.1:{http_port}\n  option forwardfor\n  default_backend node\n\
             backend node\n  mode http\n  server n1 127.0.0.1:{}\n\
             frontend ssh\n  mode tcp\n  bind 127.0.0.1:{ssh_port}\n  default_backend node_ssh\n\
             backend node_ssh\n  mode tcp\n  server n1 127.0.0.1:{} send-proxy-v2\n",
            server.http_port(),
            server.ssh_port
        );
        Some(HaProxy {
            child: run(dir, &config, ssh_port),
            http_port,
            ssh_port,
        })
    }

    /// A plain TCP relay to `target` (a database, say) on the returned port.
    pub fn tcp_to(target: u16, dir: &Path) -> Option<(HaProxy, u16)> {
        if Command::new("haproxy").arg("-v").output().is_err() {
            eprintln!("haproxy is not installed: skipped (scripts/test.sh installs it)");
            return None;
        }
        let port = free_port();
        let config = format!(
            "defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 120s\n  timeout server 120s\n\
             listen relay\n  bind 127.0.0.1:{port}\n  server target 127.0.0.1:{target}\n"
        );
        let child = run(dir, &config, port);
        Some((
            HaProxy {
                child,
                http_port: port,
                ssh_port: port,
            },
            port,
        ))
    }

    /// Freezes (`-STOP`) or thaws (`-CONT`) HAProxy: a network that swallows
    /// packets, then comes back.
    pub fn signal(&self, sig: &str) {
        super::signal(self.child.id(), sig);
    }
}

fn run(dir: &Path, config: &str, port: u16) -> Child {
    let path = dir.join(format!("haproxy-{port}.cfg"));
    std::fs::write(&path, config).unwrap();
    let check = Command::new("haproxy")
        .arg("-c")
        .arg("-f")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "haproxy -c: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let child = Command::new("haproxy")
        .arg("-db")
        .arg("-f")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join(format!("haproxy-{port}.log"))).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "haproxy did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

impl Drop for HaProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
