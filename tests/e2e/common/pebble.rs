//! Pebble, Let's Encrypt's ACME test server, with pebble-challtestsrv as its
//! DNS: it really validates (TLS-ALPN-01) against the server under test.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::free_port;

pub struct Pebble {
    pebble: Child,
    dns: Child,
    pub directory: String,
    /// The root Pebble's own directory is served under (made by the test).
    pub minica: PathBuf,
    management: u16,
    dir: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a certificate for `names` (DNS:…/IP:… entries) signed by it.
pub fn make_ca_and_leaf(dir: &Path, ca: &str, leaf: &str, names: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "30",
            "-subj",
            "/CN=twostep test CA",
            "-keyout",
            &format!("{ca}.key"),
            "-out",
            &format!("{ca}.pem"),
        ],
    );
    std::fs::write(
        dir.join(format!("{leaf}.ext")),
        format!("subjectAltName={names}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"),
    )
    .unwrap();
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            "/CN=twostep",
            "-keyout",
            &format!("{leaf}.key"),
            "-out",
            &format!("{leaf}.csr"),
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{leaf}.csr"),
            "-CA",
            &format!("{ca}.pem"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-days",
            "30",
            "-out",
            &format!("{leaf}.pem"),
            "-extfile",
            &format!("{leaf}.ext"),
        ],
    );
}

fn wait_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "port {port} did not open");
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Pebble {
    /// `None` (with a note) where Pebble is not installed. It validates on
    /// `tls_port` and issues certificates valid `validity` seconds; `host`
    /// resolves to 127.0.0.1.
    pub fn start(dir: &Path, tls_port: u16, validity: u64, host: &str) -> Option<Pebble> {
        if Command::new("pebble").arg("-version").output().is_err() {
            eprintln!("pebble is not installed: skipped (scripts/test.sh installs it)");
            return None;
        }
        make_ca_and_leaf(dir, "minica", "pebble", "DNS:localhost,IP:127.0.0.1");
        let (listen, management, dns, dns_admin) =
            (free_port(), free_port(), free_port(), free_port());
        let dns_child = Command::new("pebble-challtestsrv")
            .args(["-dns01", &format!("127.0.0.1:{dns}")])
            .args(["-management", &format!("127.0.0.1:{dns_admin}")])
            .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
            .args(["-defaultIPv4", "", "-defaultIPv6", ""])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("challtestsrv.log")).unwrap())
            .spawn()
            .unwrap();
        wait_port(dns_admin);
        let added = Command::new("curl")
            .args([
                "-sf",
                "-d",
                &format!("{{\"host\":\"{host}\",\"addresses\":[\"127.0.0.1\"]}}"),
            ])
            .arg(format!("http://127.0.0.1:{dns_admin}/add-a"))
            .status()
            .unwrap();
        assert!(added.success(), "challtestsrv add-a");
        let config = serde_json::json!({"pebble": {
            "listenAddress": format!("127.0.0.1:{listen}"),
            "managementListenAddress": format!("127.0.0.1:{management}"),
            "certificate": dir.join("pebble.pem"),
            "privateKey": dir.join("pebble.key"),
            "httpPort": free_port(),
            "tlsPort": tls_port,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false,
            "certificateValidityPeriod": validity,
        }});
        std::fs::write(dir.join("pebble.json"), config.to_string()).unwrap();
        let pebble = Command::new("pebble")
            .arg("-config")
            .arg(dir.join("pebble.json"))
            .args(["-dnsserver", &format!("127.0.0.1:{dns}")])
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .env("PEBBLE_AUTHZREUSE", "0")
            .stdout(std::fs::File::create(dir.join("pebble.log")).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_port(management);
        Some(Pebble {
            pebble,
            dns: dns_child,
            directory: format!("https://127.0.0.1:{listen}/dir"),
            minica: dir.join("minica.pem"),
            management,
            dir: dir.to_path_buf(),
        })
    }

    /// The intermediate that signs the issued certificates (PEM).
    pub fn intermediate(&self) -> String {
        let text = std::fs::read_to_string(self.roots()).unwrap();
        let start = text.rfind("-----BEGIN CERTIFICATE-----").unwrap();
        text[start..].to_string()
    }

    /// The root (and intermediate) the issued certificates chain to, as
    /// one PEM file; Pebble makes new ones at each start.
    pub fn roots(&self) -> PathBuf {
        let mut pem = String::new();
        for what in ["roots/0", "intermediates/0"] {
            let out = Command::new("curl")
                .args(["-sf", "--cacert"])
                .arg(&self.minica)
                .arg(format!("https://127.0.0.1:{}/{what}", self.management))
                .output()
                .unwrap();
            assert!(out.status.success(), "pebble {what}");
            pem.push_str(&String::from_utf8_lossy(&out.stdout));
        }
        let path = self.dir.join("pebble-roots.pem");
        std::fs::write(&path, pem).unwrap();
        path
    }
}

/// The base64 SHA-256 of a certificate's public key, as Chromium's
/// `--ignore-certificate-errors-spki-list` takes it.
pub fn spki_sha256(cert_pem: &str) -> String {
    let script = "openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64";
    let mut child = Command::new("sh")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(cert_pem.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl Drop for Pebble {
    fn drop(&mut self) {
        for c in [&mut self.pebble, &mut self.dns] {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
