//! Which network an address belongs to, for limits that a single client
//! could dodge by changing address: an IPv4 /24, an IPv6 /64 (what one
//! customer of an ISP or one cloud host is usually given).

use std::net::IpAddr;

/// The /24 (IPv4) or /64 (IPv6) of `ip`, written as a CIDR; anything that is
/// not an address counts as one network of its own.
pub fn of(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => {
            let o = v4.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => of(&v4.to_string()),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Err(_) => "unknown".into(),
    }
}

/// A wider net for IPv6, where one customer often holds a whole /48 (and
/// so 65,536 /64s); an IPv4 address's /24 again (ISPs give one address).
pub fn wide(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
        _ => of(ip),
    }
}

#[cfg(test)]
mod tests {
    use super::{of, wide};

    #[test]
    fn addresses_of_one_network_share_it() {
        assert_eq!(of("203.0.113.7"), "203.0.113.0/24");
        assert_eq!(of("203.0.113.250"), "203.0.113.0/24");
        assert_ne!(of("203.0.114.7"), of("203.0.113.7"));
        assert_eq!(of("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(of("2001:db8:1:2:ffff:ffff:ffff:ffff"), "2001:db8:1:2::/64");
        assert_ne!(of("2001:db8:1:3::1"), of("2001:db8:1:2::1"));
        assert_eq!(of("::ffff:198.51.100.9"), "198.51.100.0/24");
        assert_eq!(of("unknown"), "unknown");
        assert_eq!(wide("2001:db8:1:2::1"), "2001:db8:1::/48");
        assert_eq!(wide("2001:db8:1:ffff::1"), wide("2001:db8:1:2::1"));
        assert_eq!(wide("203.0.113.7"), "203.0.113.0/24");
    }
}
