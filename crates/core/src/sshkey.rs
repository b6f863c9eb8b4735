//! Parsing an OpenSSH public key line (`ssh-ed25519 AAAA… comment`).

use sha2::{Digest, Sha256};

/// authorized_keys lines longer than this are refused unread (RSA 16384 fits).
pub const MAX_KEY_LINE: usize = 16 * 1024;
pub const MIN_RSA_BITS: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`, …
    pub algorithm: String,
    /// The decoded wire blob.
    pub blob: Vec<u8>,
    pub comment: String,
    /// Key size in bits, shown next to the fingerprint.
    pub bits: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("Paste a public key: one line like \"ssh-ed25519 AAAA… you@host\" (the contents of ~/.ssh/id_ed25519.pub).")]
    Empty,
    #[error("That looks like a private key. Never share it: paste the .pub file instead.")]
    PrivateKey,
    #[error("The key is too long.")]
    TooLong,
    #[error("Key type \"{0}\" is not supported. Use ed25519, ecdsa or rsa (2048 bits or more).")]
    UnsupportedType(String),
    #[error("The key data is damaged: check that you copied the whole line.")]
    Malformed,
    #[error("RSA keys must have at least {MIN_RSA_BITS} bits; this one has {0}. Generate a new one with: ssh-keygen -t ed25519")]
    RsaTooSmall(usize),
    #[error("The option \"{0}\" is not supported here. Before a FIDO key (sk-…) you may write verify-required and no-touch-required, separated by a comma.")]
    UnsupportedOption(String),
    #[error("verify-required and no-touch-required apply only to FIDO security keys (sk-ssh-ed25519@openssh.com, sk-ecdsa-sha2-nistp256@openssh.com).")]
    OptionNeedsSecurityKey,
}

/// Options written before a key, as OpenSSH's authorized_keys has them
/// (FIDO keys only).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyOptions {
    /// Each signature must say the key checked a PIN or biometric.
    pub verify_required: bool,
    /// Signatures without a touch are accepted (the owner chose it).
    pub no_touch_required: bool,
}

impl KeyOptions {
    /// As stored and as authorized_keys writes them: `verify-required,no-touch-required`.
    pub fn as_text(self) -> String {
        let mut out = Vec::new();
        if self.verify_required {
            out.push("verify-required");
        }
        if self.no_touch_required {
            out.push("no-touch-required");
        }
        out.join(",")
    }

    /// From the stored text (unknown words are ignored: a later version's).
    pub fn from_text(text: &str) -> KeyOptions {
        let has = |w: &str| text.split(',').any(|o| o.trim() == w);
        KeyOptions {
            verify_required: has("verify-required"),
            no_touch_required: has("no-touch-required"),
        }
    }
}

/// Whether an algorithm names a FIDO security key.
pub fn is_security_key(algorithm: &str) -> bool {
    algorithm.starts_with("sk-")
}

/// A key line with optional leading options
/// (`verify-required,no-touch-required sk-ssh-ed25519@openssh.com AAAA… me`).
pub fn parse_with_options(line: &str) -> Result<(KeyOptions, PublicKey), KeyError> {
    if line.len() > MAX_KEY_LINE {
        return Err(KeyError::TooLong);
    }
    let trimmed = line.trim_start();
    let first = trimmed.split_whitespace().next().unwrap_or("");
    let looks_like_type = first.starts_with("ssh-")
        || first.starts_with("ecdsa-")
        || first.starts_with("sk-")
        || first.contains("PRIVATE")
        || first.starts_with("-----");
    if first.is_empty() || looks_like_type {
        return Ok((KeyOptions::default(), parse(line)?));
    }
    let mut options = KeyOptions::default();
    for o in first.split(',') {
        match o {
            "verify-required" => options.verify_required = true,
            "no-touch-required" => options.no_touch_required = true,
            other => return Err(KeyError::UnsupportedOption(truncate(other, 40))),
        }
    }
    let key = parse(&trimmed[first.len()..])?;
    if !is_security_key(&key.algorithm) {
        return Err(KeyError::OptionNeedsSecurityKey);
    }
    Ok((options, key))
}

impl PublicKey {
    /// `SHA256:…` as `ssh-keygen -lf` prints it.
    pub fn fingerprint(&self) -> String {
        fingerprint_of_blob(&self.blob)
    }

    /// Canonical one-line form without the comment.
    pub fn openssh(&self) -> String {
        format!(
            "{} {}",
            self.algorithm,
            data_encoding::BASE64.encode(&self.blob)
        )
    }
}

pub fn fingerprint_of_blob(blob: &[u8]) -> String {
    format!(
        "SHA256:{}",
        data_encoding::BASE64_NOPAD.encode(&Sha256::digest(blob))
    )
}

pub fn parse(line: &str) -> Result<PublicKey, KeyError> {
    if line.len() > MAX_KEY_LINE {
        return Err(KeyError::TooLong);
    }
    let line = line.trim();
    if line.is_empty() {
        return Err(KeyError::Empty);
    }
    if line.contains("PRIVATE KEY") {
        return Err(KeyError::PrivateKey);
    }
    let mut parts = line.split_whitespace();
    let algorithm = parts.next().ok_or(KeyError::Empty)?.to_string();
    let b64 = parts.next().ok_or(KeyError::Malformed)?;
    let comment = parts.collect::<Vec<_>>().join(" ");
    let blob = data_encoding::BASE64
        .decode(b64.as_bytes())
        .map_err(|_| KeyError::Malformed)?;
    let mut r = Reader(&blob);
    let inner_alg = r.string()?;
    if inner_alg != algorithm.as_bytes() {
        return Err(KeyError::Malformed);
    }
    let bits = match algorithm.as_str() {
        "ssh-ed25519" => {
            expect_len(r.string()?, 32)?;
            256
        }
        "sk-ssh-ed25519@openssh.com" => {
            expect_len(r.string()?, 32)?;
            r.string()?; // application
            256
        }
        "ecdsa-sha2-nistp256" | "ecdsa-sha2-nistp384" | "ecdsa-sha2-nistp521" => {
            let curve = r.string()?;
            let (name, point_len, bits) = match algorithm.as_str() {
                "ecdsa-sha2-nistp256" => ("nistp256", 65, 256),
                "ecdsa-sha2-nistp384" => ("nistp384", 97, 384),
                _ => ("nistp521", 133, 521),
            };
            if curve != name.as_bytes() {
                return Err(KeyError::Malformed);
            }
            expect_len(r.string()?, point_len)?;
            bits
        }
        "sk-ecdsa-sha2-nistp256@openssh.com" => {
            if r.string()? != b"nistp256" {
                return Err(KeyError::Malformed);
            }
            expect_len(r.string()?, 65)?;
            r.string()?;
            256
        }
        "ssh-rsa" => {
            let _e = r.string()?;
            let n = r.string()?;
            let bits = mpint_bits(n);
            if bits < MIN_RSA_BITS {
                return Err(KeyError::RsaTooSmall(bits));
            }
            bits
        }
        other => return Err(KeyError::UnsupportedType(truncate(other, 40))),
    };
    if !r.0.is_empty() {
        return Err(KeyError::Malformed);
    }
    Ok(PublicKey {
        algorithm,
        blob,
        comment: truncate(&comment, 200),
        bits,
    })
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

fn expect_len(b: &[u8], len: usize) -> Result<(), KeyError> {
    if b.len() == len {
        Ok(())
    } else {
        Err(KeyError::Malformed)
    }
}

fn mpint_bits(n: &[u8]) -> usize {
    let n: Vec<u8> = n.iter().copied().skip_while(|b| *b == 0).collect();
    match n.first() {
        None => 0,
        Some(first) => n.len() * 8 - first.leading_zeros() as usize,
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn string(&mut self) -> Result<&'a [u8], KeyError> {
        if self.0.len() < 4 {
            return Err(KeyError::Malformed);
        }
        let len = u32::from_be_bytes([self.0[0], self.0[1], self.0[2], self.0[3]]) as usize;
        let rest = &self.0[4..];
        if rest.len() < len {
            return Err(KeyError::Malformed);
        }
        let (s, rest) = rest.split_at(len);
        self.0 = rest;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Generated with ssh-keygen; fingerprints as `ssh-keygen -lf` prints them.
    const ED: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDpMXtPiDGwSURBw1sE1uep0aznpR55CHCxjJXZTeFbU test@box";

    #[test]
    fn parses_ed25519() {
        let k = parse(ED).unwrap();
        assert_eq!(k.algorithm, "ssh-ed25519");
        assert_eq!(k.comment, "test@box");
        assert_eq!(k.bits, 256);
        assert_eq!(
            k.fingerprint(),
            "SHA256:SnvwWik9X49KHzf/bqV3zkxlX5CP7N3ZTXzUHmxvIBo"
        );
        assert_eq!(parse(&k.openssh()).unwrap().blob, k.blob);
    }

    #[test]
    fn refuses_junk_with_reasons() {
        assert_eq!(parse("  "), Err(KeyError::Empty));
        assert_eq!(parse("ssh-ed25519 !!!"), Err(KeyError::Malformed));
        assert_eq!(
            parse("-----BEGIN OPENSSH PRIVATE KEY-----"),
            Err(KeyError::PrivateKey)
        );
        assert!(matches!(
            parse("ssh-dss AAAAB3NzaC1kc3M="),
            Err(KeyError::UnsupportedType(_))
        ));
        // Algorithm name and blob disagree.
        let swapped = ED.replace("ssh-ed25519 ", "ecdsa-sha2-nistp256 ");
        assert_eq!(parse(&swapped), Err(KeyError::Malformed));
        // Truncated blob.
        assert_eq!(parse(&ED[..60]), Err(KeyError::Malformed));
    }

    #[test]
    fn options_come_before_a_fido_key_only() {
        // `ssh-keygen -t ed25519-sk` output.
        let sk = "sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIMR6ihL2cWCl5Pj0FDrEIdsMJ+hgrXc9tg9NvSPmHS8WAAAABHNzaDo= me@box";
        let (o, k) = parse_with_options(sk).unwrap();
        assert_eq!(o, KeyOptions::default());
        assert!(is_security_key(&k.algorithm));
        let (o, _) =
            parse_with_options(&format!("verify-required,no-touch-required {sk}")).unwrap();
        assert!(o.verify_required && o.no_touch_required);
        assert_eq!(o.as_text(), "verify-required,no-touch-required");
        assert_eq!(KeyOptions::from_text(&o.as_text()), o);
        assert_eq!(
            parse_with_options(&format!("command=\"sh\" {sk}")),
            Err(KeyError::UnsupportedOption("command=\"sh\"".into()))
        );
        assert_eq!(
            parse_with_options(&format!("verify-required {ED}")),
            Err(KeyError::OptionNeedsSecurityKey)
        );
        assert_eq!(parse_with_options(ED).unwrap().1, parse(ED).unwrap());
    }

    #[test]
    fn small_rsa_is_refused() {
        // ssh-rsa blob with e=65537 and a 1024-bit n.
        let mut blob = Vec::new();
        for part in [b"ssh-rsa".to_vec(), vec![1, 0, 1], {
            let mut n = vec![0u8];
            n.extend(std::iter::repeat_n(0xff, 128));
            n
        }] {
            blob.extend((part.len() as u32).to_be_bytes());
            blob.extend(part);
        }
        let line = format!("ssh-rsa {}", data_encoding::BASE64.encode(&blob));
        assert_eq!(parse(&line), Err(KeyError::RsaTooSmall(1024)));
    }
}
