//! The SSRF policy: which resolved IP addresses a delivery may connect to.
//!
//! The dispatcher resolves the webhook's host itself, keeps only the addresses [`check`] allows
//! and connects to those, so a name cannot be re-resolved to a refused address between check and
//! connect. This module judges single addresses only; it must not resolve names or open
//! connections.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use thiserror::Error;
use url::{Host, Url};

/// Why an address was refused, for the delivery log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum BlockedReason {
    #[error("unspecified address (0.0.0.0/8, ::)")]
    Unspecified,
    #[error("link-local address (169.254.0.0/16, fe80::/10), where cloud metadata services live")]
    LinkLocal,
    #[error(
        "cloud metadata address (169.254.169.254, 100.100.100.200, 192.0.0.192, \
         fd00:ec2::254, fd20:ce::254)"
    )]
    CloudMetadata,
    #[error("multicast address")]
    Multicast,
    #[error("broadcast address")]
    Broadcast,
    #[error("reserved address (240.0.0.0/4)")]
    Reserved,
    #[error(
        "documentation address (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, \
         2001:db8::/32, 3fff::/20)"
    )]
    Documentation,
    #[error("loopback address (127.0.0.0/8, ::1); private destinations are denied")]
    Loopback,
    #[error(
        "private address (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16); \
         private destinations are denied"
    )]
    Private,
    #[error("carrier-grade NAT address (100.64.0.0/10); private destinations are denied")]
    SharedAddressSpace,
    #[error("benchmarking address (198.18.0.0/15); private destinations are denied")]
    Benchmarking,
    #[error("unique local address (fc00::/7); private destinations are denied")]
    UniqueLocal,
}

/// Whether a delivery may connect to `ip`.
///
/// Always refused, as no webhook receiver lives there and some are dangerous to reach: the cloud
/// metadata services (169.254.169.254 for AWS, GCP, Azure, OpenStack and DigitalOcean,
/// 100.100.100.200 for Alibaba Cloud, 192.0.0.192 for Oracle Cloud, fd00:ec2::254 for AWS and
/// fd20:ce::254 for GCP over IPv6), link-local (169.254.0.0/16, fe80::/10), unspecified
/// (0.0.0.0/8, ::), multicast, broadcast, reserved 240.0.0.0/4 and documentation ranges.
///
/// Refused only when `deny_private` is set: loopback, RFC 1918, carrier-grade NAT
/// (100.64.0.0/10), benchmarking (198.18.0.0/15) and unique local (fc00::/7). They are allowed by
/// default because self-hosters deliver to services on their own network.
///
/// IPv6 addresses that embed an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible
/// `::a.b.c.d`, IPv4-translated `::ffff:0:a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) are judged by that IPv4 address, since
/// that is where the traffic ends up.
pub fn check(ip: IpAddr, deny_private: bool) -> Result<(), BlockedReason> {
    match ip {
        IpAddr::V4(v4) => check_v4(v4, deny_private),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => check_v4(v4, deny_private),
            None => check_v6(v6, deny_private),
        },
    }
}

/// The host of `url` when it is an IP address literal, which is judged without resolving.
///
/// WHATWG URL parsing has already turned every numeric spelling of an IPv4 host (decimal
/// `2852039166`, hex `0xA9FEA9FE`, octal `0251.0376.0251.0376`, shortened `169.254.43518`) into
/// the address itself, and IPv6 hosts into canonical form, so no spelling slips past [`check`].
pub fn literal_ip(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
        Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        Host::Domain(_) => None,
    }
}

/// An address range: base address, prefix length, and the reason given for refusing it.
type Range<A> = (A, u32, BlockedReason);

// The metadata addresses come first: 100.100.100.200 lies in carrier-grade NAT space, which is
// refused only with `deny_private`, and the others get the clearer reason. Broadcast is listed
// before reserved 240.0.0.0/4, which contains it, for the same reason.
const ALWAYS_V4: &[Range<Ipv4Addr>] = &[
    (Ipv4Addr::new(169, 254, 169, 254), 32, BlockedReason::CloudMetadata),
    (Ipv4Addr::new(100, 100, 100, 200), 32, BlockedReason::CloudMetadata),
    (Ipv4Addr::new(192, 0, 0, 192), 32, BlockedReason::CloudMetadata),
    (Ipv4Addr::new(0, 0, 0, 0), 8, BlockedReason::Unspecified),
    (Ipv4Addr::new(169, 254, 0, 0), 16, BlockedReason::LinkLocal),
    (Ipv4Addr::new(224, 0, 0, 0), 4, BlockedReason::Multicast),
    (Ipv4Addr::BROADCAST, 32, BlockedReason::Broadcast),
    (Ipv4Addr::new(240, 0, 0, 0), 4, BlockedReason::Reserved),
    (Ipv4Addr::new(192, 0, 2, 0), 24, BlockedReason::Documentation),
    (Ipv4Addr::new(198, 51, 100, 0), 24, BlockedReason::Documentation),
    (Ipv4Addr::new(203, 0, 113, 0), 24, BlockedReason::Documentation),
];

const PRIVATE_V4: &[Range<Ipv4Addr>] = &[
    (Ipv4Addr::new(127, 0, 0, 0), 8, BlockedReason::Loopback),
    (Ipv4Addr::new(10, 0, 0, 0), 8, BlockedReason::Private),
    (Ipv4Addr::new(172, 16, 0, 0), 12, BlockedReason::Private),
    (Ipv4Addr::new(192, 168, 0, 0), 16, BlockedReason::Private),
    (Ipv4Addr::new(100, 64, 0, 0), 10, BlockedReason::SharedAddressSpace),
    (Ipv4Addr::new(198, 18, 0, 0), 15, BlockedReason::Benchmarking),
];

// The metadata addresses lie in unique local fc00::/7, which is refused only with
// `deny_private`; these two are refused always.
const ALWAYS_V6: &[Range<Ipv6Addr>] = &[
    (
        Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254),
        128,
        BlockedReason::CloudMetadata,
    ),
    (
        Ipv6Addr::new(0xfd20, 0xce, 0, 0, 0, 0, 0, 0x254),
        128,
        BlockedReason::CloudMetadata,
    ),
    (Ipv6Addr::UNSPECIFIED, 128, BlockedReason::Unspecified),
    (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10, BlockedReason::LinkLocal),
    (Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8, BlockedReason::Multicast),
    (
        Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0),
        32,
        BlockedReason::Documentation,
    ),
    (
        Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0),
        20,
        BlockedReason::Documentation,
    ),
];

const PRIVATE_V6: &[Range<Ipv6Addr>] = &[
    (Ipv6Addr::LOCALHOST, 128, BlockedReason::Loopback),
    (
        Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0),
        7,
        BlockedReason::UniqueLocal,
    ),
];

/// /96 prefixes whose last 32 bits are an IPv4 address: IPv4-mapped, IPv4-compatible,
/// IPv4-translated (SIIT, `::ffff:0:a.b.c.d`), NAT64's well-known prefix.
const CARRY_V4_IN_LAST_32_BITS: [Ipv6Addr; 4] = [
    Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0),
    Ipv6Addr::UNSPECIFIED,
    Ipv6Addr::new(0, 0, 0, 0, 0xffff, 0, 0, 0),
    Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0),
];
/// 6to4 (2002::/16) puts the IPv4 address right after the prefix.
const SIX_TO_FOUR: Ipv6Addr = Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0);

fn in_v4(ip: Ipv4Addr, base: Ipv4Addr, prefix: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
    u32::from(ip) & mask == u32::from(base) & mask
}

fn in_v6(ip: Ipv6Addr, base: Ipv6Addr, prefix: u32) -> bool {
    let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
    u128::from(ip) & mask == u128::from(base) & mask
}

fn check_v4(ip: Ipv4Addr, deny_private: bool) -> Result<(), BlockedReason> {
    let private = if deny_private { PRIVATE_V4 } else { &[] };
    match ALWAYS_V4
        .iter()
        .chain(private)
        .find(|(base, prefix, _)| in_v4(ip, *base, *prefix))
    {
        Some((_, _, reason)) => Err(*reason),
        None => Ok(()),
    }
}

fn check_v6(ip: Ipv6Addr, deny_private: bool) -> Result<(), BlockedReason> {
    let private = if deny_private { PRIVATE_V6 } else { &[] };
    match ALWAYS_V6
        .iter()
        .chain(private)
        .find(|(base, prefix, _)| in_v6(ip, *base, *prefix))
    {
        Some((_, _, reason)) => Err(*reason),
        None => Ok(()),
    }
}

/// The IPv4 address an IPv6 address carries, where the network will deliver to it.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    // `::` and `::1` lie inside ::/96 but are IPv6's own unspecified and loopback addresses.
    if ip == Ipv6Addr::UNSPECIFIED || ip == Ipv6Addr::LOCALHOST {
        return None;
    }
    let o = ip.octets();
    if CARRY_V4_IN_LAST_32_BITS.iter().any(|prefix| in_v6(ip, *prefix, 96)) {
        return Some(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
    }
    if in_v6(ip, SIX_TO_FOUR, 16) {
        return Some(Ipv4Addr::new(o[2], o[3], o[4], o[5]));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use BlockedReason::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn always_refused() {
        let cases: &[(&str, BlockedReason)] = &[
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", Unspecified),
            ("::", Unspecified),
            ("169.254.169.254", CloudMetadata),
            ("100.100.100.200", CloudMetadata),
            ("192.0.0.192", CloudMetadata),
            ("fd00:ec2::254", CloudMetadata),
            ("fd20:ce::254", CloudMetadata),
            ("169.254.170.2", LinkLocal),
            ("169.254.0.1", LinkLocal),
            ("fe80::1", LinkLocal),
            ("febf:ffff::1", LinkLocal),
            ("224.0.0.1", Multicast),
            ("239.255.255.250", Multicast),
            ("ff02::1", Multicast),
            ("255.255.255.255", Broadcast),
            ("240.0.0.1", Reserved),
            ("250.1.2.3", Reserved),
            ("192.0.2.1", Documentation),
            ("198.51.100.7", Documentation),
            ("203.0.113.255", Documentation),
            ("2001:db8::1", Documentation),
            ("3fff::1", Documentation),
        ];
        for (address, reason) in cases {
            for deny_private in [false, true] {
                assert_eq!(
                    check(ip(address), deny_private),
                    Err(*reason),
                    "{address} deny_private={deny_private}"
                );
            }
        }
    }

    #[test]
    fn private_ranges_depend_on_deny_private() {
        let cases: &[(&str, BlockedReason)] = &[
            ("127.0.0.1", Loopback),
            ("127.255.255.254", Loopback),
            ("::1", Loopback),
            ("10.0.0.1", Private),
            ("10.255.255.255", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("192.168.1.1", Private),
            ("100.64.0.1", SharedAddressSpace),
            ("100.127.255.255", SharedAddressSpace),
            ("198.18.0.1", Benchmarking),
            ("198.19.255.255", Benchmarking),
            ("fc00::1", UniqueLocal),
            ("fd12:3456::1", UniqueLocal),
        ];
        for (address, reason) in cases {
            assert_eq!(check(ip(address), false), Ok(()), "{address} allowed");
            assert_eq!(check(ip(address), true), Err(*reason), "{address} denied");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for address in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "172.15.255.255",
            "172.32.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "169.253.255.255",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2a00:1450:4001:80b::200e",
            "fec0::1",
            "2001:db9::1",
        ] {
            for deny_private in [false, true] {
                assert_eq!(
                    check(ip(address), deny_private),
                    Ok(()),
                    "{address} deny_private={deny_private}"
                );
            }
        }
    }

    #[test]
    fn embedded_ipv4_is_judged_as_ipv4() {
        let cases: &[(&str, bool, Result<(), BlockedReason>)] = &[
            // IPv4-mapped.
            ("::ffff:169.254.169.254", false, Err(CloudMetadata)),
            ("::ffff:169.254.0.1", false, Err(LinkLocal)),
            ("::ffff:127.0.0.1", false, Ok(())),
            ("::ffff:127.0.0.1", true, Err(Loopback)),
            ("::ffff:10.0.0.1", true, Err(Private)),
            ("::ffff:8.8.8.8", true, Ok(())),
            // IPv4-compatible.
            ("::169.254.0.1", false, Err(LinkLocal)),
            ("::192.168.0.1", true, Err(Private)),
            ("::0.0.0.2", false, Err(Unspecified)),
            ("::8.8.8.8", true, Ok(())),
            // IPv4-translated.
            ("::ffff:0:169.254.0.1", false, Err(LinkLocal)),
            ("::ffff:0:10.0.0.1", true, Err(Private)),
            ("::ffff:0:8.8.8.8", true, Ok(())),
            // NAT64.
            ("64:ff9b::a9fe:1", false, Err(LinkLocal)),
            ("64:ff9b::127.0.0.1", true, Err(Loopback)),
            ("64:ff9b::8.8.8.8", true, Ok(())),
            // 6to4: 2002:AABB:CCDD::/48 carries AA.BB.CC.DD.
            ("2002:a9fe:0001::1", false, Err(LinkLocal)),
            ("2002:0a00:0001::", true, Err(Private)),
            ("2002:0a00:0001::", false, Ok(())),
            ("2002:0808:0808::1", true, Ok(())),
        ];
        for (address, deny_private, expected) in cases {
            assert_eq!(
                check(ip(address), *deny_private),
                *expected,
                "{address} deny_private={deny_private}"
            );
        }
    }

    #[test]
    fn metadata_addresses_are_refused_in_every_spelling() {
        // Each IPv4 metadata address as itself and inside every IPv6 form that carries IPv4.
        for v4 in ["169.254.169.254", "100.100.100.200", "192.0.0.192"] {
            let [a, b, c, d] = v4.parse::<Ipv4Addr>().unwrap().octets();
            let spellings = [
                v4.to_owned(),
                format!("::ffff:{v4}"),
                format!("::{v4}"),
                format!("::ffff:0:{v4}"),
                format!("64:ff9b::{v4}"),
                format!("2002:{a:02x}{b:02x}:{c:02x}{d:02x}::1"),
            ];
            for spelling in spellings {
                for deny_private in [false, true] {
                    assert_eq!(
                        check(ip(&spelling), deny_private),
                        Err(CloudMetadata),
                        "{spelling} deny_private={deny_private}"
                    );
                }
            }
        }
        for v6 in [
            "fd00:ec2::254",
            "fd00:ec2:0:0:0:0:0:254",
            "fd20:ce::254",
            "FD20:00CE::0254",
        ] {
            assert_eq!(check(ip(v6), false), Err(CloudMetadata), "{v6}");
        }
        // Their neighbours in carrier-grade NAT and unique local space stay private ranges.
        assert_eq!(check(ip("100.100.100.201"), false), Ok(()));
        assert_eq!(check(ip("fd00:ec2::253"), false), Ok(()));
    }

    #[test]
    fn numeric_host_spellings_are_read_as_the_address_they_mean() {
        let metadata = ip("169.254.169.254");
        for url in [
            "http://169.254.169.254/latest/meta-data",
            "http://2852039166/",
            "http://0xA9FEA9FE/",
            "http://0xa9.0xfe.0xa9.0xfe/",
            "http://0251.0376.0251.0376/",
            "http://169.254.43518/",
            "http://169.16689662/",
            "http://%31%36%39.254.169.254/",
            "HTTP://169.254.169.254.:80/",
        ] {
            let parsed = Url::parse(url).unwrap();
            assert_eq!(literal_ip(&parsed), Some(metadata), "{url}");
        }
        for (url, expected) in [
            ("http://[::ffff:169.254.169.254]/", "::ffff:169.254.169.254"),
            ("http://[0:0:0:0:0:ffff:a9fe:a9fe]/", "::ffff:169.254.169.254"),
            ("http://[FD00:0EC2::0254]/", "fd00:ec2::254"),
            ("http://100.100.100.200/", "100.100.100.200"),
            ("http://1684301000/", "100.100.100.200"),
        ] {
            let parsed = Url::parse(url).unwrap();
            assert_eq!(literal_ip(&parsed), Some(ip(expected)), "{url}");
        }
        for url in ["http://hooks.example.com/", "http://169.254.169.254.nip.io/"] {
            assert_eq!(literal_ip(&Url::parse(url).unwrap()), None, "{url}");
        }
    }

    #[test]
    fn reasons_read_well_in_the_log() {
        assert_eq!(
            check(ip("10.1.2.3"), true).unwrap_err().to_string(),
            "private address (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16); \
             private destinations are denied"
        );
    }
}
