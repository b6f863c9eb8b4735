//! Headless Chromium driven through chromedriver (W3C WebDriver over HTTP).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub struct Chromium {
    driver: Child,
    http: reqwest::blocking::Client,
    session: String,
    _profile: tempfile::TempDir,
    shots: PathBuf,
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Where screenshots go: `$TWOSTEP_SCREENSHOTS`, or `target/screenshots`.
pub fn screenshot_dir() -> PathBuf {
    std::env::var_os("TWOSTEP_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots")
        })
}

/// A phone's screen, as Chromium's device emulation lays pages out on it
/// (the page's viewport meta honoured, touch, a phone's pixel density).
pub const PHONE_WIDTH: u32 = 390;

/// WebDriver's code for the Tab key.
pub const TAB: &str = "\u{E004}";

impl Chromium {
    pub fn start(test: &str) -> Chromium {
        Chromium::start_as(test, None, &[])
    }

    /// Chromium reaching `host` at 127.0.0.1 and trusting certificates
    /// under the CA whose key hashes to `spki` (as a real CA would be).
    pub fn start_for_host(test: &str, host: &str, spki: &str) -> Chromium {
        Chromium::start_as(
            test,
            None,
            &[
                format!("--host-resolver-rules=MAP {host} 127.0.0.1"),
                format!("--ignore-certificate-errors-spki-list={spki}"),
            ],
        )
    }

    /// Chromium emulating a phone 390 px wide.
    pub fn start_phone(test: &str) -> Chromium {
        Chromium::start_as(
            test,
            Some(json!({"deviceMetrics": {
                "width": PHONE_WIDTH, "height": 844, "pixelRatio": 3.0, "touch": true, "mobile": true
            }})),
            &[],
        )
    }

    fn start_as(test: &str, mobile: Option<Value>, extra: &[String]) -> Chromium {
        let port = super::free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is installed (the test script installs chromium-driver)");
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while http.get(format!("{base}/status")).send().is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap();
        let mut options = json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", "--window-size=1100,1000",
                     format!("--user-data-dir={}", profile.path().display())]
        });
        if let Some(args) = options["args"].as_array_mut() {
            args.extend(extra.iter().map(|a| json!(a)));
        }
        if let Some(mobile) = mobile {
            options["mobileEmulation"] = mobile;
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": options
        }}});
        let r: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .unwrap()
            .json()
            .unwrap();
        let session = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {r}"))
            .to_string();
        let shots = screenshot_dir().join(test);
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots).unwrap();
        Chromium {
            driver,
            http,
            session: format!("{base}/session/{session}"),
            _profile: profile,
            shots,
        }
    }

    pub fn cmd(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}{}", self.session, path);
        let req = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body),
        };
        let v: Value = req.send().unwrap().json().unwrap();
        assert!(
            v["value"]["error"].is_null(),
            "WebDriver {method} {path}: {v}"
        );
        v["value"].clone()
    }

    pub fn goto(&self, url: &str) {
        self.cmd("POST", "/url", json!({ "url": url }));
    }

    pub fn url(&self) -> String {
        self.cmd("GET", "/url", Value::Null)
            .as_str()
            .unwrap()
            .to_string()
    }

    pub fn find(&self, css: &str) -> String {
        let v = self.cmd(
            "POST",
            "/element",
            json!({"using": "css selector", "value": css}),
        );
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css} at {}: {v}", self.url()))
            .to_string()
    }

    /// Whether the page has an element matching `css` now (no waiting).
    pub fn has(&self, css: &str) -> bool {
        self.script(
            "return document.querySelector(arguments[0]) !== null;",
            json!([css]),
        ) == json!(true)
    }

    pub fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css);
        self.cmd("POST", &format!("/element/{id}/clear"), json!({}));
        self.cmd(
            "POST",
            &format!("/element/{id}/value"),
            json!({ "text": text }),
        );
    }

    pub fn click(&self, css: &str) {
        let id = self.find(css);
        self.cmd("POST", &format!("/element/{id}/click"), json!({}));
    }

    /// Presses and releases one key (a WebDriver key code such as TAB).
    pub fn press(&self, key: &str) {
        self.cmd(
            "POST",
            "/actions",
            json!({"actions": [{"type": "key", "id": "keyboard", "actions": [
                {"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}
            ]}]}),
        );
    }

    /// The page's visible text.
    pub fn text(&self) -> String {
        self.script("return document.body.innerText;", json!([]))
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    pub fn script(&self, js: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            json!({ "script": js, "args": args }),
        )
    }

    /// Waits until the visible text contains `needle`.
    pub fn wait_for_text(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let t = self.text();
            if t.contains(needle) {
                return t;
            }
            assert!(
                Instant::now() < deadline,
                "{needle:?} never showed at {}:\n{t}",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Adds a WebDriver virtual authenticator: `ctap2` or `ctap1/u2f`, over USB,
    /// that always consents (as if touched).
    pub fn add_security_key(&self, protocol: &str) -> String {
        let v = self.cmd(
            "POST",
            "/webauthn/authenticator",
            json!({
                "protocol": protocol, "transport": "usb", "hasResidentKey": false,
                "hasUserVerification": false, "isUserConsenting": true, "isUserVerified": false
            }),
        );
        v.as_str().unwrap_or_default().to_string()
    }

    /// A virtual platform authenticator that keeps discoverable credentials
    /// and verifies its user (a phone or a laptop with a fingerprint reader).
    pub fn add_passkey_authenticator(&self) -> String {
        let v = self.cmd(
            "POST",
            "/webauthn/authenticator",
            json!({
                "protocol": "ctap2", "transport": "internal", "hasResidentKey": true,
                "hasUserVerification": true, "isUserConsenting": true, "isUserVerified": true
            }),
        );
        v.as_str().unwrap_or_default().to_string()
    }

    /// The credentials the virtual authenticator holds, as WebDriver tells them.
    pub fn credentials(&self, authenticator: &str) -> Vec<Value> {
        let path = format!("/webauthn/authenticator/{authenticator}/credentials");
        self.cmd("GET", &path, Value::Null)
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Ids (base64url) of the credentials the virtual authenticator holds.
    pub fn key_credentials(&self, authenticator: &str) -> Vec<String> {
        self.credentials(authenticator)
            .iter()
            .filter_map(|c| c["credentialId"].as_str().map(str::to_string))
            .collect()
    }

    /// Runs an async script (`arguments[arguments.length - 1]` is the callback).
    pub fn script_async(&self, js: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "/execute/async",
            json!({ "script": js, "args": args }),
        )
    }

    /// Saves a PNG of the page as `NN-name.png`.
    pub fn screenshot(&self, name: &str) {
        use base64::Engine;
        let v = self.cmd("GET", "/screenshot", Value::Null);
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap();
        let n = std::fs::read_dir(&self.shots)
            .map(|d| d.count())
            .unwrap_or(0);
        std::fs::write(self.shots.join(format!("{n:02}-{name}.png")), png).unwrap();
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.http.delete(&self.session).send();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
