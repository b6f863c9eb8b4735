//! HTTPS built in: a certificate from files, reloaded on SIGHUP under open
//! connections; a certificate from Pebble over ACME (first one, a restart
//! that reuses it, renewal), HTTP/1.1 and HTTP/2, git over HTTPS verifying
//! it, Chromium signing in with a security key on a host name, and the
//! plain-HTTP listener redirecting to https.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::common;
use crate::phishing_resistant::{password_then_key_page, turn_on_with};

use common::accounts::{account, PASSWORD};
use common::browser::Chromium;
use common::git::{working_copy, Git};
use common::pebble::{make_ca_and_leaf, spki_sha256, Pebble};
use common::web_journey::{ready_for_two_step, sign_out};
use common::{free_port, Https, Server, ServerOptions};

const HOST: &str = "git.example.test";

/// `curl` over HTTPS to the server's host name: (HTTP version, body).
fn curl(server: &Server, root: &std::path::Path, path: &str, extra: &[&str]) -> (String, String) {
    let port = server.http_port();
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "20", "--cacert"])
        .arg(root)
        .args(["--resolve", &format!("{HOST}:{port}:127.0.0.1")])
        .args(["-w", "\n%{http_version}"])
        .args(extra)
        .arg(format!("https://{HOST}:{port}{path}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "curl {path}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, version) = text.rsplit_once('\n').unwrap();
    (version.to_string(), body.trim_end().to_string())
}

/// The serial number of the certificate the server presents now.
fn served_serial(port: u16) -> String {
    let script = format!(
        "openssl s_client -connect 127.0.0.1:{port} -servername {HOST} </dev/null 2>/dev/null | openssl x509 -noout -serial"
    );
    let out = Command::new("sh").args(["-c", &script]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Python's TLS client: the handshake with one ALPN protocol, then silence;
/// says the protocol chosen and whether the server closed within 30 s.
fn silent_client(port: u16, ca: &std::path::Path, alpn: &str) -> String {
    let script = format!(
        r#"
import socket, ssl
ctx = ssl.create_default_context(cafile={ca:?})
ctx.set_alpn_protocols([{alpn:?}])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", {port})), server_hostname="{HOST}")
s.settimeout(30)
chosen = s.selected_alpn_protocol()
try:
    while s.recv(4096):
        pass
    print(chosen, "closed")
except (socket.timeout, TimeoutError):
    print(chosen, "still open")
except (ssl.SSLError, ConnectionError):
    print(chosen, "closed")
"#,
        ca = ca.display().to_string()
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn certificate_files_are_served_and_reloaded_on_sighup_under_open_connections() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    make_ca_and_leaf(d, "ca", "first", &format!("DNS:{HOST}"));
    make_ca_and_leaf(d, "ca2", "second", &format!("DNS:{HOST}"));
    let (cert, key) = (d.join("live.pem"), d.join("live.key"));
    std::fs::copy(d.join("first.pem"), &cert).unwrap();
    std::fs::copy(d.join("first.key"), &key).unwrap();
    let server = Server::start_with(ServerOptions {
        https: Some(Https {
            host: HOST.into(),
            root: d.join("ca.pem"),
        }),
        args: vec![
            "--tls-cert".into(),
            cert.display().to_string(),
            "--tls-key".into(),
            key.display().to_string(),
        ],
        ..Default::default()
    });
    let ca = d.join("ca.pem");
    assert_eq!(
        curl(&server, &ca, "/healthz", &[]),
        ("2".into(), "ok".into())
    );
    assert_eq!(
        curl(&server, &ca, "/healthz", &["--http1.1"]),
        ("1.1".into(), "ok".into())
    );

    // A browser-like client keeps its connection across the reload.
    let kept = server.browser();
    assert_eq!(kept.get("/healthz").status, 200);
    std::fs::copy(d.join("second.pem"), &cert).unwrap();
    std::fs::copy(d.join("second.key"), &key).unwrap();
    server.signal("-HUP");
    server.wait_for_log("TLS certificate reloaded", 1);
    assert_eq!(
        kept.get("/healthz").status,
        200,
        "the open connection went on"
    );
    assert_eq!(
        curl(&server, &d.join("ca2.pem"), "/healthz", &[]).1,
        "ok",
        "new connections get the new certificate"
    );

    // A client that finishes its handshake and sends nothing is closed, as
    // a plain one is after the header deadline (HTTP/1.1 and HTTP/2 alike).
    for alpn in ["http/1.1", "h2"] {
        let said = silent_client(server.http_port(), &d.join("ca2.pem"), alpn);
        assert_eq!(said, format!("{alpn} closed"));
    }

    // A key that does not load leaves the serving pair in place.
    std::fs::write(&key, "not a key").unwrap();
    server.signal("-HUP");
    server.wait_for_log("still serving the old one", 1);
    assert_eq!(curl(&server, &d.join("ca2.pem"), "/healthz", &[]).1, "ok");
}

#[test]
fn acme_certificates_from_pebble_serve_git_and_a_security_key_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // Certificates valid 30 s: renewed after 20.
    let Some(pebble) = Pebble::start(dir.path(), port, 30, HOST) else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let redirect_port = free_port();
    // `node` 0 is the one the CA validates against; node 1 shares its
    // ACME cache folder, as nodes behind one name do.
    let node_options = |roots: std::path::PathBuf, node: usize| {
        let mut args = vec![
            "--acme-domain".into(),
            HOST.into(),
            "--acme-directory".into(),
            pebble.directory.clone(),
            "--acme-ca".into(),
            pebble.minica.display().to_string(),
            "--acme-contact".into(),
            "admin@example.test".into(),
            "--acme-cache".into(),
            data.path().join("shared-acme").display().to_string(),
        ];
        if node == 0 {
            args.extend([
                "--redirect-addr".into(),
                format!("127.0.0.1:{redirect_port}"),
            ]);
        }
        ServerOptions {
            http_port: Some(if node == 0 { port } else { free_port() }),
            data_dir: Some(data.path().join(format!("data{node}"))),
            https: Some(Https {
                host: HOST.into(),
                root: roots,
            }),
            args,
            ..Default::default()
        }
    };
    let options = |roots| node_options(roots, 0);
    let roots = pebble.roots();
    let first = Server::start_with(options(roots.clone()));
    first.wait_for_log("new TLS certificate obtained", 1);
    first.wait_for_log("TLS certificate from the ACME cache in use", 1);
    assert_eq!(
        curl(&first, &roots, "/healthz", &[]),
        ("2".into(), "ok".into())
    );
    let issued = served_serial(port);
    drop(first);

    // A restart serves the cached certificate without asking the CA.
    let server = Server::start_with(options(roots.clone()));
    server.wait_for_log("TLS certificate from the ACME cache in use", 1);
    assert!(
        !server.log_text().contains("ordering"),
        "{}",
        server.log_text()
    );
    assert_eq!(served_serial(port), issued);
    assert_eq!(curl(&server, &roots, "/healthz", &[]).1, "ok");
    // A second node on the shared folder serves the same certificate.
    let other = Server::start_with(node_options(roots.clone(), 1));
    other.wait_for_log("TLS certificate from the ACME cache in use", 1);
    assert!(!other.log_text().contains("ordering the first"));
    assert_eq!(served_serial(other.http_port()), issued);

    // Renewed before it expires, by whichever node took the folder's lock
    // (the CA validates on node 0, which answers from the shared folder);
    // both then serve the new certificate.
    let deadline = Instant::now() + Duration::from_secs(60);
    while served_serial(port) == issued || served_serial(other.http_port()) != served_serial(port) {
        assert!(
            Instant::now() < deadline,
            "the renewed certificate is not served by both nodes:\n{}\n{}",
            server.log_text(),
            other.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let renewals = [&server, &other]
        .iter()
        .map(|n| n.log_text().matches("renewing the TLS certificate").count())
        .sum::<usize>();
    assert!(renewals >= 1);
    drop(other);

    // A reload signal has nothing to reload here, and stops nothing.
    server.signal("-HUP");
    server.wait_for_log("SIGHUP: nothing to reload", 1);
    assert_eq!(curl(&server, &roots, "/healthz", &[]).1, "ok");

    // Plain HTTP sends people to https, path and query kept.
    let out = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{redirect_url}",
        ])
        .arg(format!(
            "http://127.0.0.1:{redirect_port}/signin?next=%2Frepositories"
        ))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("308 https://{HOST}:{port}/signin?next=%2Frepositories")
    );

    // Git over HTTPS checks the certificate against Pebble's root.
    let ada = account(&server, "ada");
    ada.api.ok(
        "POST",
        "/repositories",
        Some(serde_json::json!({"name": "proj"})),
    );
    let git = Git::new(&server, "ada", &ada.key);
    let src = server.data.path().join("src");
    working_copy(&git, &src, &[("README.md", "over tls\n")]);
    git.ok(
        &["push", "-q", &git.ssh_url("ada", "proj"), "main"],
        Some(&src),
    );
    git.store_credentials(&server, "ada", PASSWORD);
    let https = server.url("/ada/proj.git");
    let clone = server.data.path().join("clone");
    let resolve = format!("http.curloptResolve={HOST}:{port}:127.0.0.1");
    let unverified = git.fails(
        &[
            "-c",
            &resolve,
            "clone",
            "-q",
            &https,
            clone.to_str().unwrap(),
        ],
        None,
    );
    assert!(unverified.contains("certificate"), "{unverified}");
    let ca = format!("http.sslCAInfo={}", roots.display());
    git.ok(
        &[
            "-c",
            &resolve,
            "-c",
            &ca,
            "clone",
            "-q",
            &https,
            clone.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(
        std::fs::read_to_string(clone.join("README.md")).unwrap(),
        "over tls\n"
    );

    // Chromium on the host name: two-step with a security key, then a sign-in with it.
    let web = Chromium::start_for_host(
        "https-security-key",
        HOST,
        &spki_sha256(&pebble.intermediate()),
    );
    web.add_security_key("ctap2");
    ready_for_two_step(&server, &web, "grace", PASSWORD);
    turn_on_with(&server, &web, "grace", "#add-key");
    sign_out(&web);
    password_then_key_page(&server, &web, "grace");
    web.click("#use-key");
    web.wait_for_text("Hello, grace");
    assert!(web.url().starts_with(&format!("https://{HOST}:{port}/")));
}
