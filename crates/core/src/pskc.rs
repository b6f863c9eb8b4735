//! RFC 6030 Portable Symmetric Key Container (PSKC): the seed files token
//! vendors ship with hardware OATH tokens. Plain files, and files encrypted
//! with a pre-shared AES key or a password (PBKDF2, RFC 6030 §6.2), each
//! encrypted value checked against its `ValueMAC` (HMAC-SHA1 over IV and
//! ciphertext) before it is used.
//!
//! Elements are matched by local name so any namespace prefix works; the
//! root must be a PSKC `KeyContainer`.

use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, KeyIvInit};
use base64::Engine;
use hmac::{Hmac, Mac};
use roxmltree::{Document, Node};
use subtle::ConstantTimeEq;

use crate::totp::Hash;

pub const NAMESPACE: &str = "urn:ietf:params:xml:ns:keyprov:pskc";
pub const TOTP: &str = "urn:ietf:params:xml:ns:keyprov:pskc:totp";
const PBKDF2: &str = "pbkdf2";
/// Files larger than this are refused unread (10,000 tokens take about 10 MB).
pub const MAX_FILE: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PskcError {
    #[error("not XML: {0}")]
    Xml(String),
    #[error("not a PSKC file: the root is not a KeyContainer of {NAMESPACE}")]
    NotPskc,
    #[error("the file's keys are encrypted: give the password (--password) or the pre-shared key (--key HEX)")]
    KeyNeeded,
    #[error("{0}")]
    Unsupported(String),
    #[error("a value does not match its MAC: wrong password or key, or a damaged file")]
    BadMac,
    #[error("a value cannot be decrypted: wrong password or key, or a damaged file")]
    Decrypt,
    #[error("malformed: {0}")]
    Malformed(String),
    #[error("the file is larger than {} MB", MAX_FILE / (1024 * 1024))]
    TooLarge,
}

/// How the file's encrypted values are opened.
#[derive(Clone, Default)]
pub enum Unlock {
    #[default]
    None,
    Password(String),
    /// A pre-shared AES key (16 or 32 bytes).
    Key(Vec<u8>),
}

/// One key from a file.
#[derive(Clone, PartialEq, Eq)]
pub struct PskcKey {
    /// The device's serial number (or the key's Id when there is none).
    pub serial: String,
    pub manufacturer: String,
    /// The algorithm URI, e.g. `urn:ietf:params:xml:ns:keyprov:pskc:totp`.
    pub algorithm: String,
    pub secret: Vec<u8>,
    pub digits: usize,
    /// TOTP time step; 30 when the file says none.
    pub period: u64,
    pub hash: Hash,
}

impl std::fmt::Debug for PskcKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PskcKey")
            .field("serial", &self.serial)
            .field("algorithm", &self.algorithm)
            .field("digits", &self.digits)
            .field("period", &self.period)
            .field("hash", &self.hash)
            .field("secret", &"<redacted>")
            .finish()
    }
}

fn child<'a, 'i>(n: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    n.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

fn path<'a, 'i>(n: Node<'a, 'i>, names: &[&str]) -> Option<Node<'a, 'i>> {
    names.iter().try_fold(n, |n, name| child(n, name))
}

fn text(n: Node<'_, '_>) -> String {
    n.text().unwrap_or("").trim().to_string()
}

fn b64(s: &str) -> Result<Vec<u8>, PskcError> {
    let clean: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(clean)
        .map_err(|_| PskcError::Malformed("a value is not base64".into()))
}

/// The encryption and MAC keys a file's values are opened with.
struct Keys {
    encryption: Option<Vec<u8>>,
    mac: Option<Vec<u8>>,
}

fn derive_key(container: Node<'_, '_>, unlock: &Unlock) -> Result<Option<Vec<u8>>, PskcError> {
    let Some(ek) = child(container, "EncryptionKey") else {
        return Ok(None);
    };
    if let Some(derived) = child(ek, "DerivedKey") {
        let Unlock::Password(pw) = unlock else {
            return Err(PskcError::KeyNeeded);
        };
        let method = child(derived, "KeyDerivationMethod")
            .ok_or_else(|| PskcError::Malformed("DerivedKey without KeyDerivationMethod".into()))?;
        if !method
            .attribute("Algorithm")
            .unwrap_or("")
            .ends_with(PBKDF2)
        {
            return Err(PskcError::Unsupported(
                "only PBKDF2 key derivation is supported".into(),
            ));
        }
        let params = child(method, "PBKDF2-params")
            .ok_or_else(|| PskcError::Malformed("PBKDF2 without its parameters".into()))?;
        let salt = path(params, &["Salt", "Specified"])
            .map(text)
            .ok_or_else(|| PskcError::Malformed("PBKDF2 without a salt".into()))?;
        let salt = b64(&salt)?;
        let rounds: u32 = child(params, "IterationCount")
            .map(text)
            .and_then(|t| t.parse().ok())
            .filter(|r| (1..=10_000_000).contains(r))
            .ok_or_else(|| PskcError::Malformed("PBKDF2 IterationCount".into()))?;
        let len: usize = child(params, "KeyLength")
            .map(text)
            .and_then(|t| t.parse().ok())
            .unwrap_or(16);
        if len != 16 && len != 32 {
            return Err(PskcError::Unsupported(
                "PBKDF2 keys of 16 or 32 bytes only".into(),
            ));
        }
        let prf = child(params, "PRF")
            .and_then(|p| p.attribute("Algorithm"))
            .unwrap_or("");
        if !(prf.is_empty() || prf.ends_with("hmac-sha1")) {
            return Err(PskcError::Unsupported("PBKDF2 with HMAC-SHA1 only".into()));
        }
        let mut key = vec![0u8; len];
        pbkdf2::pbkdf2_hmac::<sha1::Sha1>(pw.as_bytes(), &salt, rounds, &mut key);
        return Ok(Some(key));
    }
    match unlock {
        Unlock::Key(k) if k.len() == 16 || k.len() == 32 => Ok(Some(k.clone())),
        Unlock::Key(_) => Err(PskcError::Unsupported(
            "pre-shared keys are 16 or 32 bytes (32 or 64 hex digits)".into(),
        )),
        _ => Err(PskcError::KeyNeeded),
    }
}

/// AES-CBC with the IV in front, as XML Encryption writes it.
fn decrypt(enc: Node<'_, '_>, key: &[u8]) -> Result<(Vec<u8>, Vec<u8>), PskcError> {
    let algorithm = child(enc, "EncryptionMethod")
        .and_then(|m| m.attribute("Algorithm"))
        .unwrap_or("");
    let raw = path(enc, &["CipherData", "CipherValue"])
        .map(text)
        .ok_or_else(|| PskcError::Malformed("an encrypted value without CipherValue".into()))?;
    let raw = b64(&raw)?;
    if raw.len() < 32 || raw.len() % 16 != 0 {
        return Err(PskcError::Decrypt);
    }
    let (iv, ct) = raw.split_at(16);
    let plain = match (algorithm.rsplit('#').next().unwrap_or(""), key.len()) {
        ("aes128-cbc", 16) => cbc::Decryptor::<aes::Aes128>::new_from_slices(key, iv)
            .map_err(|_| PskcError::Decrypt)?
            .decrypt_padded_vec_mut::<Pkcs7>(ct)
            .map_err(|_| PskcError::Decrypt)?,
        ("aes256-cbc", 32) => cbc::Decryptor::<aes::Aes256>::new_from_slices(key, iv)
            .map_err(|_| PskcError::Decrypt)?
            .decrypt_padded_vec_mut::<Pkcs7>(ct)
            .map_err(|_| PskcError::Decrypt)?,
        ("aes128-cbc" | "aes256-cbc", _) => return Err(PskcError::Decrypt),
        (other, _) => {
            return Err(PskcError::Unsupported(format!(
                "encryption {other:?} is not supported (AES-128-CBC and AES-256-CBC are)"
            )))
        }
    };
    Ok((plain, raw))
}

fn keys(container: Node<'_, '_>, unlock: &Unlock) -> Result<Keys, PskcError> {
    let encryption = derive_key(container, unlock)?;
    let mac = match (child(container, "MACMethod"), &encryption) {
        (Some(m), Some(k)) => {
            let alg = m.attribute("Algorithm").unwrap_or("");
            if !alg.ends_with("hmac-sha1") {
                return Err(PskcError::Unsupported("MACs with HMAC-SHA1 only".into()));
            }
            match child(m, "MACKey") {
                Some(mk) => Some(decrypt(mk, k)?.0),
                None => None,
            }
        }
        _ => None,
    };
    Ok(Keys { encryption, mac })
}

fn secret_of(data: Node<'_, '_>, keys: &Keys) -> Result<Vec<u8>, PskcError> {
    let secret = child(data, "Secret")
        .ok_or_else(|| PskcError::Malformed("a key without a Secret".into()))?;
    if let Some(plain) = child(secret, "PlainValue") {
        return b64(&text(plain));
    }
    encrypted_value(secret, keys, "Secret")
}

/// A key's time step in seconds: plain, or encrypted like the secret (its
/// plaintext the integer's bytes, big-endian, or its digits, as python-pskc
/// reads them); 30 when the file says nothing.
fn time_interval_of(data: Node<'_, '_>, keys: &Keys, serial: &str) -> Result<u64, PskcError> {
    let Some(field) = child(data, "TimeInterval") else {
        return Ok(30);
    };
    let bad = || PskcError::Malformed(format!("{serial}: TimeInterval"));
    if let Some(plain) = child(field, "PlainValue") {
        return text(plain).parse::<u64>().map_err(|_| bad());
    }
    let bytes = encrypted_value(field, keys, "TimeInterval")?;
    if !bytes.is_empty() && bytes.iter().all(u8::is_ascii_digit) {
        return std::str::from_utf8(&bytes)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(bad);
    }
    if bytes.is_empty() || bytes.len() > 8 {
        return Err(bad());
    }
    Ok(bytes.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b)))
}

/// An `<EncryptedValue>` of a data field, decrypted, its `ValueMAC` checked.
fn encrypted_value(field: Node<'_, '_>, keys: &Keys, name: &str) -> Result<Vec<u8>, PskcError> {
    let enc = child(field, "EncryptedValue").ok_or_else(|| {
        PskcError::Malformed(format!(
            "a {name} with neither PlainValue nor EncryptedValue"
        ))
    })?;
    let key = keys.encryption.as_ref().ok_or(PskcError::KeyNeeded)?;
    let (plain, raw) = decrypt(enc, key)?;
    if let (Some(mac_key), Some(value_mac)) = (&keys.mac, child(field, "ValueMAC")) {
        let want = b64(&text(value_mac))?;
        let mut m =
            <Hmac<sha1::Sha1> as Mac>::new_from_slice(mac_key).map_err(|_| PskcError::BadMac)?;
        m.update(&raw);
        let got = m.finalize().into_bytes();
        if !bool::from(got.as_slice().ct_eq(&want)) {
            return Err(PskcError::BadMac);
        }
    }
    Ok(plain)
}

fn hash_of(key: Node<'_, '_>) -> Result<Hash, PskcError> {
    let suite = path(key, &["AlgorithmParameters", "Suite"])
        .map(text)
        .unwrap_or_default()
        .to_ascii_uppercase();
    Ok(match suite.as_str() {
        "" | "HMAC-SHA1" | "SHA1" | "SHA-1" => Hash::Sha1,
        "HMAC-SHA256" | "SHA256" | "SHA-256" => Hash::Sha256,
        "HMAC-SHA512" | "SHA512" | "SHA-512" => Hash::Sha512,
        other => return Err(PskcError::Unsupported(format!("hash {other:?}"))),
    })
}

/// Every key of a file, decrypted, in file order; `each` is told after each
/// (for a progress bar). A key the file describes badly fails the whole file.
pub fn parse(
    xml: &str,
    unlock: &Unlock,
    mut each: impl FnMut(usize),
) -> Result<Vec<PskcKey>, PskcError> {
    if xml.len() > MAX_FILE {
        return Err(PskcError::TooLarge);
    }
    let doc = Document::parse(xml).map_err(|e| PskcError::Xml(e.to_string()))?;
    let root = doc.root_element();
    if root.tag_name().name() != "KeyContainer" || root.tag_name().namespace() != Some(NAMESPACE) {
        return Err(PskcError::NotPskc);
    }
    let keys = keys(root, unlock)?;
    let mut out = Vec::new();
    for package in root
        .children()
        .filter(|c| c.is_element() && c.tag_name().name() == "KeyPackage")
    {
        let device = child(package, "DeviceInfo");
        let serial_no = device
            .and_then(|d| child(d, "SerialNo"))
            .map(text)
            .unwrap_or_default();
        let manufacturer = device
            .and_then(|d| child(d, "Manufacturer"))
            .map(text)
            .unwrap_or_default();
        for key in package
            .children()
            .filter(|c| c.is_element() && c.tag_name().name() == "Key")
        {
            let serial = if serial_no.is_empty() {
                key.attribute("Id").unwrap_or("").trim().to_string()
            } else {
                serial_no.clone()
            };
            if serial.is_empty() || serial.len() > 64 || serial.chars().any(char::is_control) {
                return Err(PskcError::Malformed(
                    "a key without a usable serial number or Id".into(),
                ));
            }
            let digits = path(key, &["AlgorithmParameters", "ResponseFormat"])
                .and_then(|r| r.attribute("Length"))
                .map(|l| l.trim().parse::<usize>())
                .transpose()
                .map_err(|_| PskcError::Malformed(format!("{serial}: ResponseFormat Length")))?
                .unwrap_or(6);
            let data = child(key, "Data")
                .ok_or_else(|| PskcError::Malformed(format!("{serial}: no Data")))?;
            let period = time_interval_of(data, &keys, &serial)?;
            out.push(PskcKey {
                manufacturer: manufacturer.clone(),
                algorithm: key.attribute("Algorithm").unwrap_or("").to_string(),
                secret: secret_of(data, &keys)?,
                digits,
                period,
                hash: hash_of(key)?,
                serial,
            });
            each(out.len());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6030's examples keep their keys in these files (values from the
    /// RFC's figures: the secret is "12345678901234567890" where not "1234").
    fn rfc(name: &str) -> String {
        std::fs::read_to_string(format!("{}/tests/pskc/{name}", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
    }

    #[test]
    fn rfc6030_figure_2_a_plain_key() {
        let keys = parse(&rfc("rfc6030-figure2.pskc"), &Unlock::None, |_| {}).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(
            (keys[0].serial.as_str(), keys[0].secret.as_slice()),
            ("12345678", b"1234".as_slice())
        );
    }

    #[test]
    fn rfc6030_figure_6_a_pre_shared_key() {
        let xml = rfc("rfc6030-figure6.pskc");
        assert_eq!(
            parse(&xml, &Unlock::None, |_| {}).unwrap_err(),
            PskcError::KeyNeeded
        );
        let key = data_encoding::HEXLOWER
            .decode(b"12345678901234567890123456789012")
            .unwrap();
        let keys = parse(&xml, &Unlock::Key(key), |_| {}).unwrap();
        assert_eq!(keys[0].serial, "987654321");
        assert_eq!(keys[0].secret, b"12345678901234567890");
        assert_eq!(keys[0].digits, 8);
        let wrong = data_encoding::HEXLOWER
            .decode(b"00000000000000000000000000000000")
            .unwrap();
        assert!(matches!(
            parse(&xml, &Unlock::Key(wrong), |_| {}),
            Err(PskcError::Decrypt | PskcError::BadMac)
        ));
    }

    #[test]
    fn rfc6030_figure_7_a_password() {
        let xml = rfc("rfc6030-figure7.pskc");
        let keys = parse(&xml, &Unlock::Password("qwerty".into()), |_| {}).unwrap();
        assert_eq!(keys[0].secret, b"12345678901234567890");
        assert!(matches!(
            parse(&xml, &Unlock::Password("QWERTY".into()), |_| {}),
            Err(PskcError::Decrypt | PskcError::BadMac)
        ));
    }

    /// Written by python-pskc with `fields=["secret", "time_interval"]`.
    #[test]
    fn an_encrypted_time_interval_is_decrypted() {
        let xml = rfc("python-pskc-encrypted-interval.pskc");
        let keys = parse(&xml, &Unlock::Password("correct horse".into()), |_| {}).unwrap();
        assert_eq!(
            (keys[0].serial.as_str(), keys[0].period, keys[0].digits),
            ("PY60", 60, 8)
        );
        assert_eq!(keys[0].secret, b"token-seed-000000007");
        // The interval's MAC is checked like the secret's.
        let tampered = xml.replace(
            "JqVS2+TWtUmLl7TUKDonJdee0wc=",
            "JqVT2+TWtUmLl7TUKDonJdee0wc=",
        );
        assert_eq!(
            parse(&tampered, &Unlock::Password("correct horse".into()), |_| {}).unwrap_err(),
            PskcError::BadMac
        );
        // A plain interval that is no number is refused, not read as 30.
        let plain = "<KeyContainer Version=\"1.0\" xmlns=\"urn:ietf:params:xml:ns:keyprov:pskc\"><KeyPackage><DeviceInfo><SerialNo>X1</SerialNo></DeviceInfo><Key Algorithm=\"urn:ietf:params:xml:ns:keyprov:pskc:totp\"><Data><Secret><PlainValue>MTIzNA==</PlainValue></Secret><TimeInterval><PlainValue>sixty</PlainValue></TimeInterval></Data></Key></KeyPackage></KeyContainer>";
        assert_eq!(
            parse(plain, &Unlock::None, |_| {}).unwrap_err(),
            PskcError::Malformed("X1: TimeInterval".into())
        );
    }

    #[test]
    fn a_tampered_value_fails_its_mac() {
        let xml = rfc("rfc6030-figure7.pskc").replace(
            "LP6xMvjtypbfT9PdkJhBZ+D6O4w=",
            "LP7xMvjtypbfT9PdkJhBZ+D6O4w=",
        );
        assert_eq!(
            parse(&xml, &Unlock::Password("qwerty".into()), |_| {}).unwrap_err(),
            PskcError::BadMac
        );
    }

    #[test]
    fn what_is_not_pskc_is_refused() {
        assert!(matches!(
            parse("<a>", &Unlock::None, |_| {}),
            Err(PskcError::Xml(_))
        ));
        assert_eq!(
            parse("<KeyContainer/>", &Unlock::None, |_| {}).unwrap_err(),
            PskcError::NotPskc
        );
        let entity = "<!DOCTYPE x [<!ENTITY a \"aaaa\">]><KeyContainer xmlns=\"urn:ietf:params:xml:ns:keyprov:pskc\">&a;</KeyContainer>";
        assert!(
            parse(entity, &Unlock::None, |_| {}).is_err(),
            "no entity expansion"
        );
    }
}
