//! The PROXY protocol header (HAProxy's, versions 1 and 2) a load balancer
//! sends before a TCP stream it forwards, naming the client it came from.
//! <https://www.haproxy.org/download/2.6/doc/proxy-protocol.txt>

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

const V1_PREFIX: &[u8] = b"PROXY ";
/// A version 1 line is at most 107 bytes with its CRLF.
const V1_MAX: usize = 107;
const V2_SIGNATURE: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";
/// Addresses and the TLVs balancers add (SSL details, unique ids); anything
/// longer is refused rather than buffered.
pub const V2_MAX: usize = 16 + 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// The bytes so far could still begin a header: read more.
    Incomplete,
    /// The stream does not begin with a header.
    NotProxy,
    /// A whole header of `len` bytes; `source` is the client it names
    /// (none for a balancer's own health check or an unknown family).
    Header {
        len: usize,
        source: Option<SocketAddr>,
    },
    /// It begins like a header but is not a valid one.
    Invalid(&'static str),
}

/// Reads a header at the start of `buf`, the bytes received so far.
pub fn parse(buf: &[u8]) -> Parsed {
    if starts_like(buf, V1_PREFIX) {
        return v1(buf);
    }
    if starts_like(buf, V2_SIGNATURE) {
        return v2(buf);
    }
    Parsed::NotProxy
}

/// Whether the stream announces a header: `Some(true)` once `buf` holds a
/// whole signature, `Some(false)` once it cannot be one, `None` before.
pub fn announces(buf: &[u8]) -> Option<bool> {
    if buf.starts_with(V1_PREFIX) || buf.starts_with(V2_SIGNATURE) {
        Some(true)
    } else if starts_like(buf, V1_PREFIX) || starts_like(buf, V2_SIGNATURE) {
        None
    } else {
        Some(false)
    }
}

/// Whether `buf` and `prefix` agree on their common length (an empty buffer
/// agrees with everything).
fn starts_like(buf: &[u8], prefix: &[u8]) -> bool {
    let n = buf.len().min(prefix.len());
    buf[..n] == prefix[..n]
}

fn v1(buf: &[u8]) -> Parsed {
    if buf.len() < V1_PREFIX.len() {
        return Parsed::Incomplete;
    }
    let Some(end) = buf.windows(2).position(|w| w == b"\r\n") else {
        return if buf.len() >= V1_MAX {
            Parsed::Invalid("PROXY line too long")
        } else {
            Parsed::Incomplete
        };
    };
    if end + 2 > V1_MAX {
        return Parsed::Invalid("PROXY line too long");
    }
    let Ok(line) = std::str::from_utf8(&buf[V1_PREFIX.len()..end]) else {
        return Parsed::Invalid("PROXY line is not text");
    };
    let fields: Vec<&str> = line.split(' ').collect();
    let len = end + 2;
    match fields.as_slice() {
        ["UNKNOWN", ..] => Parsed::Header { len, source: None },
        [family @ ("TCP4" | "TCP6"), src, _dst, sport, _dport] => {
            let ip = match (*family, src.parse::<IpAddr>()) {
                ("TCP4", Ok(ip @ IpAddr::V4(_))) | ("TCP6", Ok(ip @ IpAddr::V6(_))) => ip,
                _ => return Parsed::Invalid("PROXY line with a bad source address"),
            };
            match sport.parse::<u16>() {
                Ok(port) => Parsed::Header {
                    len,
                    source: Some(SocketAddr::new(ip, port)),
                },
                Err(_) => Parsed::Invalid("PROXY line with a bad source port"),
            }
        }
        _ => Parsed::Invalid("PROXY line not understood"),
    }
}

fn v2(buf: &[u8]) -> Parsed {
    if buf.len() < 16 {
        return Parsed::Incomplete;
    }
    let version_command = buf[12];
    if version_command >> 4 != 2 {
        return Parsed::Invalid("PROXY protocol version not 2");
    }
    let body = usize::from(u16::from_be_bytes([buf[14], buf[15]]));
    let len = 16 + body;
    if len > V2_MAX {
        return Parsed::Invalid("PROXY header too long");
    }
    if buf.len() < len {
        return Parsed::Incomplete;
    }
    let addresses = &buf[16..len];
    match version_command & 0x0f {
        // LOCAL: the balancer's own connection (a health check).
        0x0 => return Parsed::Header { len, source: None },
        0x1 => {}
        _ => return Parsed::Invalid("PROXY command not understood"),
    }
    let source = match buf[13] >> 4 {
        0x1 if addresses.len() >= 12 => {
            let ip = Ipv4Addr::new(addresses[0], addresses[1], addresses[2], addresses[3]);
            let port = u16::from_be_bytes([addresses[8], addresses[9]]);
            Some(SocketAddr::new(IpAddr::V4(ip), port))
        }
        0x2 if addresses.len() >= 36 => {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(&addresses[..16]);
            let port = u16::from_be_bytes([addresses[32], addresses[33]]);
            Some(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(octets)), port))
        }
        0x1 | 0x2 => return Parsed::Invalid("PROXY header shorter than its addresses"),
        // AF_UNSPEC or AF_UNIX: no address to take.
        _ => None,
    };
    Parsed::Header { len, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2_header(command: u8, family: u8, addresses: &[u8]) -> Vec<u8> {
        let mut h = V2_SIGNATURE.to_vec();
        h.push(0x20 | command);
        h.push(family);
        h.extend_from_slice(&u16::try_from(addresses.len()).unwrap().to_be_bytes());
        h.extend_from_slice(addresses);
        h
    }

    #[test]
    fn version_one_names_the_client() {
        let line = b"PROXY TCP4 203.0.113.7 192.0.2.1 51234 22\r\nSSH-2.0-OpenSSH_9.2\r\n";
        assert_eq!(
            parse(line),
            Parsed::Header {
                len: 43,
                source: Some("203.0.113.7:51234".parse().unwrap())
            }
        );
        let six = b"PROXY TCP6 2001:db8::7 2001:db8::1 51234 22\r\n";
        assert_eq!(
            parse(six),
            Parsed::Header {
                len: six.len(),
                source: Some("[2001:db8::7]:51234".parse().unwrap())
            }
        );
        assert_eq!(
            parse(b"PROXY UNKNOWN\r\n"),
            Parsed::Header {
                len: 15,
                source: None
            }
        );
    }

    #[test]
    fn version_two_names_the_client() {
        let mut four = vec![203, 0, 113, 7, 192, 0, 2, 1];
        four.extend_from_slice(&51234u16.to_be_bytes());
        four.extend_from_slice(&22u16.to_be_bytes());
        let h = v2_header(1, 0x11, &four);
        let mut stream = h.clone();
        stream.extend_from_slice(b"SSH-2.0-x\r\n");
        assert_eq!(
            parse(&stream),
            Parsed::Header {
                len: h.len(),
                source: Some("203.0.113.7:51234".parse().unwrap())
            }
        );
        let mut six = Vec::new();
        six.extend_from_slice(&"2001:db8::7".parse::<Ipv6Addr>().unwrap().octets());
        six.extend_from_slice(&[0; 16]);
        six.extend_from_slice(&4000u16.to_be_bytes());
        six.extend_from_slice(&22u16.to_be_bytes());
        six.extend_from_slice(&[0x04, 0x00, 0x01, 0x00]); // a TLV: kept out
        assert_eq!(
            parse(&v2_header(1, 0x21, &six)),
            Parsed::Header {
                len: 16 + six.len(),
                source: Some("[2001:db8::7]:4000".parse().unwrap())
            }
        );
        // A health check: the balancer's own connection.
        assert_eq!(
            parse(&v2_header(0, 0x00, &[])),
            Parsed::Header {
                len: 16,
                source: None
            }
        );
    }

    #[test]
    fn partial_headers_ask_for_more_and_ssh_is_not_a_header() {
        assert_eq!(parse(b""), Parsed::Incomplete);
        assert_eq!(parse(b"PRO"), Parsed::Incomplete);
        assert_eq!(parse(b"PROXY TCP4 203.0"), Parsed::Incomplete);
        assert_eq!(parse(b"\r\n\r\n\0"), Parsed::Incomplete);
        assert_eq!(
            parse(&v2_header(1, 0x11, &[0; 12])[..20]),
            Parsed::Incomplete
        );
        assert_eq!(parse(b"SSH-2.0-OpenSSH_9.2\r\n"), Parsed::NotProxy);
        assert_eq!(parse(b"GET / HTTP/1.1\r\n"), Parsed::NotProxy);
        assert_eq!(parse(b"S"), Parsed::NotProxy);
    }

    #[test]
    fn a_signature_is_announced_in_its_first_bytes() {
        assert_eq!(announces(b"SSH-2.0-"), Some(false));
        assert_eq!(announces(b"S"), Some(false));
        assert_eq!(announces(b""), None);
        assert_eq!(announces(b"PROX"), None);
        assert_eq!(announces(b"PROXY "), Some(true));
        assert_eq!(announces(b"PROXY TCP4"), Some(true));
        assert_eq!(announces(b"\r\n\r\n\0\r\nQU"), None);
        assert_eq!(announces(V2_SIGNATURE), Some(true));
        assert_eq!(announces(b"\r\nX"), Some(false));
    }

    #[test]
    fn malformed_headers_are_invalid() {
        for bad in [
            &b"PROXY TCP4 2001:db8::1 192.0.2.1 1 2\r\n"[..],
            b"PROXY TCP4 203.0.113.7 192.0.2.1 99999 22\r\n",
            b"PROXY TCP5 a b c d\r\n",
            b"PROXY TCP4 203.0.113.7\r\n",
        ] {
            assert!(matches!(parse(bad), Parsed::Invalid(_)), "{bad:?}");
        }
        let long = [b"PROXY ".as_slice(), &[b'1'; 200]].concat();
        assert!(matches!(parse(&long), Parsed::Invalid(_)));
        let mut wrong_version = v2_header(1, 0x11, &[0; 12]);
        wrong_version[12] = 0x11;
        assert!(matches!(parse(&wrong_version), Parsed::Invalid(_)));
        let mut huge = v2_header(1, 0x11, &[0; 12]);
        huge[14..16].copy_from_slice(&60_000u16.to_be_bytes());
        assert!(matches!(parse(&huge), Parsed::Invalid(_)));
        assert!(matches!(
            parse(&v2_header(1, 0x11, &[0; 4])),
            Parsed::Invalid(_)
        ));
    }
}
