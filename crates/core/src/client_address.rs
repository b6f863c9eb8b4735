//! The client's own address behind trusted proxies: the peer of a connection
//! is the client unless it is one of the configured proxies, in which case
//! the forwarding header names the hops and the right-most one that is not a
//! trusted proxy is the client (everything left of it was written by the
//! client and proves nothing).

use std::net::IpAddr;

/// An address or a CIDR range of proxies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    network: IpAddr,
    prefix: u8,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0:?} is not an address or a CIDR range (10.0.0.0/8, 2001:db8::/32, 192.0.2.7; not /0: every client would name its own address)")]
pub struct BadRange(pub String);

impl std::str::FromStr for Range {
    type Err = BadRange;
    fn from_str(text: &str) -> Result<Range, BadRange> {
        let bad = || BadRange(text.to_string());
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().map_err(|_| bad())?)),
            None => (text, None),
        };
        let network = canonical(addr.parse::<IpAddr>().map_err(|_| bad())?);
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        // /0 would let every client name its own address.
        if prefix > max || prefix == 0 {
            return Err(bad());
        }
        Ok(Range { network, prefix })
    }
}

impl Range {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, canonical(ip)) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

impl std::fmt::Display for Range {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// An IPv4 client reaching an IPv6 socket is seen as `::ffff:a.b.c.d`.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// Which header the proxies write the hops into. Only one is read: a proxy
/// that appends to one passes the other through as the client wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Header {
    /// `X-Forwarded-For: client, proxy1, proxy2` (HAProxy's `option
    /// forwardfor`, nginx's `$proxy_add_x_forwarded_for`).
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client;proto=https, for=proxy1`.
    Forwarded,
}

impl Header {
    pub fn name(self) -> &'static str {
        match self {
            Header::XForwardedFor => "x-forwarded-for",
            Header::Forwarded => "forwarded",
        }
    }
}

impl std::str::FromStr for Header {
    type Err = String;
    fn from_str(text: &str) -> Result<Header, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Ok(Header::XForwardedFor),
            "forwarded" => Ok(Header::Forwarded),
            _ => Err(format!(
                "proxy_header {text:?}: use \"x-forwarded-for\" or \"forwarded\""
            )),
        }
    }
}

/// The proxies whose word about the client is taken.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    ranges: Vec<Range>,
    header: Header,
}

impl TrustedProxies {
    pub fn new(ranges: Vec<Range>, header: Header) -> TrustedProxies {
        TrustedProxies { ranges, header }
    }

    /// Addresses and ranges separated by commas or spaces.
    pub fn parse_list(text: &str) -> Result<Vec<Range>, BadRange> {
        text.split([',', ' ', '\t'])
            .filter(|s| !s.is_empty())
            .map(str::parse)
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    pub fn header(&self) -> Header {
        self.header
    }

    pub fn ranges(&self) -> &[Range] {
        &self.ranges
    }

    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.ranges.iter().any(|r| r.contains(ip))
    }

    /// The client behind `peer`, from the values of the configured header in
    /// the order they arrived. Hops that cannot be read stop the walk: the
    /// nearest trusted hop is then all that is known.
    pub fn client(&self, peer: IpAddr, values: &[&str]) -> IpAddr {
        let mut client = canonical(peer);
        if !self.trusts(client) {
            return client;
        }
        let hops: Vec<&str> = values.iter().flat_map(|v| split_unquoted(v, ',')).collect();
        for hop in hops.iter().rev() {
            let ip = match self.header {
                Header::XForwardedFor => address(hop),
                Header::Forwarded => forwarded_for(hop).and_then(address),
            };
            let Some(ip) = ip else {
                return client;
            };
            client = canonical(ip);
            if !self.trusts(client) {
                return client;
            }
        }
        client
    }
}

/// `203.0.113.7`, `203.0.113.7:4711`, `2001:db8::7`, `[2001:db8::7]:4711`,
/// with spaces and RFC 7239's quotes around.
fn address(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim().trim_matches('"');
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sa) = hop.parse::<std::net::SocketAddr>() {
        return Some(sa.ip());
    }
    let inner = hop.strip_prefix('[')?.split(']').next()?;
    inner.parse().ok()
}

/// The `for=` parameter of one RFC 7239 element (`for=…;proto=https;by=…`).
fn forwarded_for(element: &str) -> Option<&str> {
    split_unquoted(element, ';').into_iter().find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        name.trim().eq_ignore_ascii_case("for").then_some(value)
    })
}

/// `text` split at `sep` outside RFC 7239 quoted strings (`"…"` with `\`
/// escapes): a comma inside `host="a, for=…"` separates nothing. An
/// unterminated quote makes the rest one piece, which reads as no address.
fn split_unquoted(text: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == sep && !quoted => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn proxies(list: &str, header: Header) -> TrustedProxies {
        TrustedProxies::new(TrustedProxies::parse_list(list).unwrap(), header)
    }

    #[test]
    fn ranges_hold_their_addresses() {
        let r: Range = "10.0.0.0/8".parse().unwrap();
        assert!(r.contains(ip("10.200.3.4")));
        assert!(!r.contains(ip("11.0.0.1")));
        assert!(r.contains(ip("::ffff:10.1.1.1")));
        let one: Range = "192.0.2.7".parse().unwrap();
        assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
        let six: Range = "2001:db8::/32".parse().unwrap();
        assert!(six.contains(ip("2001:db8:ffff::1")) && !six.contains(ip("2001:db9::1")));
        let wide: Range = "0.0.0.0/1".parse().unwrap();
        assert!(wide.contains(ip("103.0.113.1")) && !wide.contains(ip("2001:db8::1")));
        for bad in [
            "10.0.0.0/33",
            "2001:db8::/129",
            "ten",
            "10.0.0.0/x",
            "",
            "0.0.0.0/0",
            "::/0",
        ] {
            assert!(bad.parse::<Range>().is_err(), "{bad}");
        }
        assert_eq!(
            TrustedProxies::parse_list("10.0.0.0/8, 192.0.2.7 ::1")
                .unwrap()
                .len(),
            3
        );
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_writes() {
        let p = proxies("10.0.0.0/8", Header::XForwardedFor);
        assert_eq!(
            p.client(ip("203.0.113.9"), &["198.51.100.1"]),
            ip("203.0.113.9")
        );
        assert_eq!(
            TrustedProxies::default().client(ip("10.0.0.1"), &["198.51.100.1"]),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let p = proxies("10.0.0.0/8", Header::XForwardedFor);
        // The client forged a first hop; the balancer appended the real one.
        assert_eq!(
            p.client(ip("10.0.0.2"), &["198.51.100.1, 203.0.113.9"]),
            ip("203.0.113.9")
        );
        // Two proxies in a row, the header split over two lines.
        assert_eq!(
            p.client(ip("10.0.0.2"), &["198.51.100.1, 203.0.113.9", "10.0.0.3"]),
            ip("203.0.113.9")
        );
        assert_eq!(
            p.client(ip("10.0.0.2"), &["[2001:db8::9]:4711"]),
            ip("2001:db8::9")
        );
        assert_eq!(
            p.client(ip("10.0.0.2"), &["203.0.113.9:4711"]),
            ip("203.0.113.9")
        );
        // No header: the proxy itself (its health check).
        assert_eq!(p.client(ip("10.0.0.2"), &[]), ip("10.0.0.2"));
        // All hops trusted: the left-most.
        assert_eq!(
            p.client(ip("10.0.0.2"), &["10.0.0.5, 10.0.0.4"]),
            ip("10.0.0.5")
        );
        // Garbage stops the walk at the nearest trusted hop.
        assert_eq!(
            p.client(ip("10.0.0.2"), &["203.0.113.9, nonsense, 10.0.0.4"]),
            ip("10.0.0.4")
        );
        assert_eq!(
            p.client(ip("::ffff:10.0.0.2"), &["203.0.113.9"]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn forwarded_is_read_as_rfc_7239_writes_it() {
        let p = proxies("10.0.0.0/8", Header::Forwarded);
        assert_eq!(
            p.client(
                ip("10.0.0.2"),
                &["for=198.51.100.1, for=\"[2001:db8:cafe::17]:4711\";proto=https, For=10.0.0.7;by=10.0.0.2"]
            ),
            ip("2001:db8:cafe::17")
        );
        assert_eq!(p.client(ip("10.0.0.2"), &["for=unknown"]), ip("10.0.0.2"));
        assert_eq!(
            p.client(ip("10.0.0.2"), &["for=_hidden, for=203.0.113.9"]),
            ip("203.0.113.9")
        );
        // A comma inside a quoted value separates nothing.
        assert_eq!(
            p.client(
                ip("10.0.0.2"),
                &["for=203.0.113.9;host=\"git.example.com, for=198.51.100.66\""]
            ),
            ip("203.0.113.9")
        );
        assert_eq!(
            p.client(
                ip("10.0.0.2"),
                &["for=203.0.113.9, for=\"unterminated, for=198.51.100.66"]
            ),
            ip("10.0.0.2")
        );
        // The other header is not read.
        let xff = proxies("10.0.0.0/8", Header::XForwardedFor);
        assert_eq!(
            xff.client(ip("10.0.0.2"), &["for=203.0.113.9"]),
            ip("10.0.0.2")
        );
    }
}
