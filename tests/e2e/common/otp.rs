//! Authenticators we did not write: oathtool and pyotp; the QR code read by zbarimg.

use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// oathtool's TOTP code for `secret` (base32) at unix time `at`.
pub fn oathtool(secret: &str, at: u64) -> String {
    let out = Command::new("oathtool")
        .args(["--totp", "-b", secret, "--now"])
        .arg(format!("@{at}"))
        .env("TZ", "UTC")
        .output()
        .expect("oathtool is installed (the test script installs it)");
    assert!(
        out.status.success(),
        "oathtool: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// pyotp's code for the whole otpauth URI (it parses issuer, digits, period itself).
pub fn pyotp(uri: &str, at: u64) -> String {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys, pyotp; print(pyotp.parse_uri(sys.argv[1]).at(int(sys.argv[2])))",
            uri,
            &at.to_string(),
        ])
        .output()
        .expect("python3 with pyotp is installed (the test script installs it)");
    assert!(
        out.status.success(),
        "pyotp: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Reads a QR code image (the SVG we drew) with zbarimg, as a phone would.
pub fn scan_qr(svg: &Path) -> String {
    let out = Command::new("zbarimg")
        .args(["--quiet", "--raw"])
        .arg(svg)
        .output()
        .expect("zbarimg is installed");
    assert!(
        out.status.success(),
        "zbarimg could not read {}: {}",
        svg.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The `secret` parameter of an otpauth URI.
pub fn secret_of(uri: &str) -> String {
    uri.split(['?', '&'])
        .find_map(|p| p.strip_prefix("secret="))
        .expect("secret in URI")
        .to_string()
}

/// A time well inside a 30 s step, so a code made now is still current when sent.
pub fn settle() -> u64 {
    loop {
        let t = now();
        if t % 30 < 25 {
            return t;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

/// "123456" → "123 456", the way people type it.
pub fn spaced(code: &str) -> String {
    format!("{} {}", &code[..3], &code[3..])
}

/// A phone with an authenticator app: gives the next code the server has not
/// seen yet (codes are accepted once, one step either side of now).
pub struct Phone {
    pub uri: String,
    last_step: Option<u64>,
    use_oathtool: bool,
    /// `None`: alternate between oathtool and pyotp; else always this one.
    only_oathtool: Option<bool>,
}

impl Phone {
    pub fn new(uri: &str) -> Phone {
        Phone {
            uri: uri.to_string(),
            last_step: None,
            use_oathtool: false,
            only_oathtool: None,
        }
    }

    /// A device whose codes always come from oathtool (a hardware token, say).
    pub fn oathtool(uri: &str) -> Phone {
        Phone {
            only_oathtool: Some(true),
            ..Phone::new(uri)
        }
    }

    /// From now on this device's codes come from pyotp only (it remembers
    /// the steps it has given out).
    pub fn using_pyotp(mut self) -> Phone {
        self.only_oathtool = Some(false);
        self
    }

    pub fn secret(&self) -> String {
        secret_of(&self.uri)
    }

    /// The next unused code, alternating between oathtool and pyotp.
    pub fn next_code(&mut self) -> String {
        loop {
            let t = settle();
            let current = t / 30;
            let step = self.last_step.map_or(current, |l| (l + 1).max(current));
            if step <= current + 1 {
                self.last_step = Some(step);
                self.use_oathtool = self.only_oathtool.unwrap_or(!self.use_oathtool);
                let at = step * 30 + 1;
                return if self.use_oathtool {
                    oathtool(&self.secret(), at)
                } else {
                    pyotp(&self.uri, at)
                };
            }
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    }
}
