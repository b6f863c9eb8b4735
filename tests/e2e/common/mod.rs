//! End-to-end harness: the real `twostep` binary on free ports, driven by real
//! clients (an HTTP client with a cookie jar, oathtool, pyotp, zbarimg,
//! ssh-keygen) and a real SMTP server (aiosmtpd) where asked.

pub mod accounts;
pub mod api;
pub mod axe;
pub mod balancer;
pub mod browser;
pub mod git;
pub mod haproxy;
pub mod mail;
pub mod otp;
pub mod pages;
pub mod pebble;
pub mod tty;
pub mod web_journey;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Sends process `pid` a signal (`-HUP`, `-STOP`, …) with kill(1).
pub fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig} {pid}");
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Server {
    child: Child,
    pub base: String,
    https: Option<Https>,
    pub ssh_port: u16,
    data_dir: PathBuf,
    pub data: tempfile::TempDir,
    pub log: PathBuf,
    pub mail: mail::MailSource,
    _smtp: Option<mail::SmtpServer>,
}

#[derive(Default)]
pub struct ServerOptions {
    /// Deliver mail to this SMTP server instead of the outbox folder.
    pub smtp: Option<mail::SmtpServer>,
    pub database_url: Option<String>,
    /// Serve as http://localhost:PORT (a host name, as WebAuthn requires).
    pub localhost: bool,
    /// An existing data folder (a restored one) instead of a new one.
    pub data_dir: Option<PathBuf>,
    /// The public URL (a load balancer's) instead of the node's own.
    pub public_url: Option<String>,
    /// More flags for `twostep serve`.
    pub args: Vec<String>,
    /// More environment for the server.
    pub env: Vec<(String, String)>,
    /// The web port (when a test must know it first, as an ACME CA does).
    pub http_port: Option<u16>,
    /// Served over HTTPS under this host name (mapped to 127.0.0.1 by the
    /// clients), with a certificate issued under this root.
    pub https: Option<Https>,
}

#[derive(Clone)]
pub struct Https {
    pub host: String,
    pub root: PathBuf,
}

impl Server {
    pub fn start() -> Server {
        Server::start_with(ServerOptions::default())
    }

    pub fn start_with(opts: ServerOptions) -> Server {
        let data = tempfile::tempdir().unwrap();
        let port = opts.http_port.unwrap_or_else(free_port);
        let ssh_port = free_port();
        let log = data.path().join("server.log");
        let data_dir = opts
            .data_dir
            .clone()
            .unwrap_or_else(|| data.path().join("data"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_twostep"));
        cmd.arg("serve")
            .arg("--data-dir")
            .arg(&data_dir)
            .arg("--http-addr")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--ssh-addr")
            .arg(format!("127.0.0.1:{ssh_port}"))
            .arg("--issuer")
            .arg("twostep-test")
            .env("TWOSTEP_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        let mail = match &opts.smtp {
            Some(s) => {
                cmd.arg("--smtp-url")
                    .arg(format!("smtp://127.0.0.1:{}", s.port));
                mail::MailSource::Maildir(s.maildir.clone())
            }
            None => mail::MailSource::Outbox(data_dir.join("outbox")),
        };
        let host = if opts.localhost {
            "localhost"
        } else {
            "127.0.0.1"
        };
        let base = match &opts.https {
            Some(h) => format!("https://{}:{port}", h.host),
            None => format!("http://127.0.0.1:{port}"),
        };
        let public_url = opts
            .public_url
            .clone()
            .or_else(|| opts.https.as_ref().map(|_| base.clone()))
            .unwrap_or_else(|| format!("http://{host}:{port}"));
        cmd.arg("--public-url").arg(public_url);
        if let Some(url) = &opts.database_url {
            cmd.arg("--database-url").arg(url);
        }
        cmd.args(&opts.args);
        cmd.envs(opts.env.iter().map(|(k, v)| (k, v)));
        let child = cmd.spawn().expect("twostep binary starts");
        let server = Server {
            child,
            base,
            https: opts.https.clone(),
            ssh_port,
            data_dir,
            data,
            log,
            mail,
            _smtp: opts.smtp,
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let client = self.client_builder().build().unwrap();
        while Instant::now() < deadline {
            // Over HTTPS the listener is up before a certificate is (ACME).
            let up = match &self.https {
                Some(_) => self.log_text().contains("twostep is serving"),
                None => client.get(format!("{}/", self.base)).send().is_ok(),
            };
            if up {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("server did not start:\n{}", self.log_text());
    }

    /// An HTTP client that reaches this server: over HTTPS, its host name
    /// resolves to 127.0.0.1 and its certificate is checked against the root.
    pub fn client_builder(&self) -> reqwest::blocking::ClientBuilder {
        let builder = reqwest::blocking::Client::builder();
        let Some(h) = &self.https else {
            return builder;
        };
        let mut roots = rustls::RootCertStore::empty();
        let pem = std::fs::read(&h.root).unwrap();
        for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(&pem) {
            roots.add(cert.unwrap()).unwrap();
        }
        let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        builder
            .tls_backend_preconfigured(tls)
            .resolve(&h.host, ([127, 0, 0, 1], self.http_port()).into())
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The server's process id (for /proc readings).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits (up to 90 s) until the log holds `text` `times` times.
    pub fn wait_for_log(&self, text: &str, times: usize) {
        let deadline = Instant::now() + Duration::from_secs(90);
        while self.log_text().matches(text).count() < times {
            assert!(
                Instant::now() < deadline,
                "no {text:?} ×{times} in the log:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends the server a signal (`-HUP`, `-TERM`, …).
    pub fn signal(&self, sig: &str) {
        signal(self.pid(), sig);
    }

    pub fn http_port(&self) -> u16 {
        self.base.rsplit(':').next().unwrap().parse().unwrap()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.data_dir.clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A fresh browser-like client: cookie jar, follows redirects.
    pub fn browser(&self) -> Browser {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        Browser {
            client: self
                .client_builder()
                .cookie_provider(jar.clone())
                .build()
                .unwrap(),
            jar,
            base: self.base.clone(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Page {
    pub status: u16,
    pub url: String,
    pub body: String,
}

impl Page {
    /// The CSRF token of the first form on the page.
    pub fn csrf(&self) -> String {
        field_value(&self.body, "csrf")
            .unwrap_or_else(|| panic!("no csrf field on {}:\n{}", self.url, self.body))
    }

    pub fn assert_contains(&self, text: &str) -> &Page {
        assert!(
            self.body.contains(text),
            "expected {text:?} on {} ({}):\n{}",
            self.url,
            self.status,
            self.body
        );
        self
    }

    pub fn assert_path(&self, path: &str) -> &Page {
        assert!(
            self.url.ends_with(path) || self.url.contains(&format!("{path}?")),
            "expected to be at {path}, got {} ({}):\n{}",
            self.url,
            self.status,
            self.body
        );
        self
    }
}

/// The text of each element `css` selects (HTML read by a real parser).
pub fn texts(html: &str, css: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(css).unwrap_or_else(|e| panic!("selector {css}: {e}"));
    doc.select(&sel)
        .map(|e| e.text().collect::<String>())
        .collect()
}

/// The attribute `attr` of each element `css` selects.
pub fn attrs(html: &str, css: &str, attr: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(css).unwrap_or_else(|e| panic!("selector {css}: {e}"));
    doc.select(&sel)
        .filter_map(|e| e.value().attr(attr).map(str::to_string))
        .collect()
}

/// The value of the first `<input name="NAME">`.
pub fn field_value(html: &str, name: &str) -> Option<String> {
    attrs(html, &format!("input[name=\"{name}\"]"), "value")
        .into_iter()
        .next()
}

pub struct Browser {
    pub client: reqwest::blocking::Client,
    jar: std::sync::Arc<reqwest::cookie::Jar>,
    base: String,
}

/// The header the server sets on every answer its gate refused, naming the rule.
pub const REFUSED: &str = "x-twostep-refused";

/// An answer as it came, redirects not followed.
pub struct Raw {
    pub status: u16,
    pub location: String,
    /// The gate's rule, when the gate refused.
    pub refused: Option<String>,
    pub body: String,
}

impl Raw {
    pub fn of(r: reqwest::blocking::Response) -> Raw {
        let header = |name: &str| {
            r.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let (location, refused) = (header("location").unwrap_or_default(), header(REFUSED));
        Raw {
            status: r.status().as_u16(),
            location,
            refused,
            body: r.text().unwrap_or_default(),
        }
    }
}

impl Browser {
    /// A client with this browser's cookies that does not follow redirects.
    pub fn raw_client(&self) -> reqwest::blocking::Client {
        reqwest::blocking::Client::builder()
            .cookie_provider(self.jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// Posts a form and returns the answer as it came (no redirect followed).
    pub fn post_form_raw(&self, action: &str, csrf: &str, fields: &[(&str, &str)]) -> Raw {
        let mut form: Vec<(&str, &str)> = vec![("csrf", csrf)];
        form.extend_from_slice(fields);
        Raw::of(
            self.raw_client()
                .post(self.full(action))
                .form(&form)
                .send()
                .unwrap(),
        )
    }

    /// The value of one cookie the browser holds for the server.
    pub fn cookie(&self, name: &str) -> Option<String> {
        cookie_in(&self.jar, &self.base, name)
    }

    /// Sets a cookie as another page of the same site could (cookie tossing).
    pub fn plant_cookie(&self, name: &str, value: &str) {
        self.jar.add_cookie_str(
            &format!("{name}={value}; Path=/"),
            &self.base.parse().unwrap(),
        );
    }

    fn full(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{}", self.base, path)
        }
    }

    pub fn get(&self, path: &str) -> Page {
        let r = self.client.get(self.full(path)).send().unwrap();
        Page {
            status: r.status().as_u16(),
            url: r.url().to_string(),
            body: r.text().unwrap(),
        }
    }

    pub fn get_bytes(&self, path: &str) -> (u16, Vec<u8>, String) {
        let r = self.client.get(self.full(path)).send().unwrap();
        let ct = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (r.status().as_u16(), r.bytes().unwrap().to_vec(), ct)
    }

    /// Loads `form_page`, then submits a form to `action` with its CSRF token plus `fields`.
    pub fn submit(&self, form_page: &str, action: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.get(form_page).csrf();
        self.post_form(action, &csrf, fields)
    }

    pub fn post_form(&self, action: &str, csrf: &str, fields: &[(&str, &str)]) -> Page {
        let mut form: Vec<(&str, &str)> = vec![("csrf", csrf)];
        form.extend_from_slice(fields);
        let r = self
            .client
            .post(self.full(action))
            .form(&form)
            .send()
            .unwrap();
        Page {
            status: r.status().as_u16(),
            url: r.url().to_string(),
            body: r.text().unwrap(),
        }
    }
}

/// The value of cookie `name` that `jar` holds for `url`.
pub fn cookie_in(jar: &reqwest::cookie::Jar, url: &str, name: &str) -> Option<String> {
    use reqwest::cookie::CookieStore;
    let header = jar.cookies(&url.parse().unwrap())?;
    header
        .to_str()
        .unwrap()
        .split("; ")
        .find_map(|c| c.strip_prefix(&format!("{name}=")).map(str::to_string))
}

/// A new ed25519 key pair made by ssh-keygen; returns (private key path, public line).
pub fn ssh_keygen(dir: &Path, name: &str) -> (PathBuf, String) {
    ssh_keygen_typed(dir, name, &["-t", "ed25519"])
}

/// A key pair of another type, e.g. `&["-t", "rsa", "-b", "1024"]`.
pub fn ssh_keygen_typed(dir: &Path, name: &str, kind: &[&str]) -> (PathBuf, String) {
    let key = dir.join(name);
    let st = Command::new("ssh-keygen")
        .args(["-q", "-N", "", "-C", &format!("{name}@e2e")])
        .args(kind)
        .arg("-f")
        .arg(&key)
        .status()
        .expect("ssh-keygen runs");
    assert!(st.success());
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    (key, public.trim().to_string())
}

/// `ssh-keygen -lf` fingerprint of a public key file.
pub fn ssh_fingerprint(private: &Path) -> String {
    let out = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(private.with_extension("pub"))
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string()
}

/// The codes listed on a recovery-codes page.
/// Recovery codes (`abcd-efgh-jkmn-pqrs`) in plain text, such as SSH's output.
pub fn codes_in(text: &str) -> Vec<String> {
    text.split_whitespace()
        .filter(|w| {
            w.len() == 19
                && w.matches('-').count() == 3
                && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        .map(str::to_string)
        .collect()
}

pub fn recovery_codes_in(html: &str) -> Vec<String> {
    texts(html, "ul.codes li code")
}

/// A page's `<meta http-equiv="refresh">` target (the pages that hand the
/// browser on to another site after a form).
pub fn refresh_target(html: &str) -> String {
    let at = html.find("url=").expect("a refresh") + 4;
    let end = html[at..].find('"').unwrap() + at;
    html[at..end].replace("&amp;", "&").replace("&#38;", "&")
}

impl Server {
    /// A browser-like client signed in through the pages with the password
    /// and the phone's next code.
    pub fn signed_in_browser(&self, name: &str, phone: &mut otp::Phone) -> Browser {
        let web = self.browser();
        web.submit(
            "/signin",
            "/signin",
            &[("login", name), ("password", accounts::PASSWORD)],
        );
        web.submit(
            "/signin/second-step",
            "/signin/second-step",
            &[("code", &phone.next_code())],
        )
        .assert_contains(&format!("Hello, {name}"));
        web
    }
}
