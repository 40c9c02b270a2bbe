//! Port-based application guess for the per-application byte mix.
//!
//! Why our own table: the flow crate has no application/service field yet
//! (nDPI-style detection lives in a separate crate that is not wired into
//! flows), and a guess from IANA well-known ports is a dozen lines. It is a
//! *guess*: traffic on non-standard ports lands in `other-tcp`/`other-udp`,
//! and a service on a well-known port of another is misnamed.
//!
//! Invariant: the returned name is one of a fixed set of `&'static str`, so
//! the number of distinct applications is bounded.

/// How the application of a flow or packet is determined (shown in reports).
pub const METHOD: &str =
    "port-based guess (IANA well-known ports of the lower-numbered or listed endpoint)";

fn by_port(protocol: u8, port: u16) -> Option<&'static str> {
    let tcp = protocol == 6;
    let udp = protocol == 17;
    Some(match port {
        20 | 21 if tcp => "ftp",
        22 if tcp => "ssh",
        23 if tcp => "telnet",
        25 | 465 | 587 if tcp => "smtp",
        53 => "dns",
        5353 if udp => "mdns",
        67 | 68 if udp => "dhcp",
        80 | 8000 | 8080 if tcp => "http",
        88 => "kerberos",
        110 | 995 if tcp => "pop3",
        123 if udp => "ntp",
        137..=139 => "netbios",
        143 | 993 if tcp => "imap",
        161 | 162 if udp => "snmp",
        179 if tcp => "bgp",
        389 | 636 => "ldap",
        443 | 8443 if tcp => "tls",
        443 if udp => "quic",
        445 if tcp => "smb",
        500 | 4500 if udp => "ipsec",
        514 if udp => "syslog",
        853 => "dns-over-tls",
        1194 => "openvpn",
        1433 if tcp => "mssql",
        1900 if udp => "ssdp",
        3306 if tcp => "mysql",
        3389 => "rdp",
        3478 | 19302 if udp => "stun",
        5060 | 5061 => "sip",
        5222 if tcp => "xmpp",
        5432 if tcp => "postgresql",
        6379 if tcp => "redis",
        51820 if udp => "wireguard",
        _ => return None,
    })
}

/// The application name for a flow/packet of `protocol` between two ports.
pub fn guess(protocol: u8, src_port: u16, dst_port: u16) -> &'static str {
    match protocol {
        6 | 17 => {
            let (lo, hi) = if dst_port <= src_port {
                (dst_port, src_port)
            } else {
                (src_port, dst_port)
            };
            by_port(protocol, dst_port)
                .or_else(|| by_port(protocol, src_port))
                .or_else(|| by_port(protocol, lo))
                .or_else(|| by_port(protocol, hi))
                .unwrap_or(if protocol == 6 {
                    "other-tcp"
                } else {
                    "other-udp"
                })
        }
        1 | 58 => "icmp",
        _ => netlens_pipeline::summary::protocol_name(protocol),
    }
}

/// A service name for a (protocol, port) pair, "" when unknown.
pub fn service_name(protocol: u8, port: u16) -> &'static str {
    by_port(protocol, port).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses_common_services() {
        assert_eq!(guess(6, 51000, 443), "tls");
        assert_eq!(guess(6, 443, 51000), "tls");
        assert_eq!(guess(17, 40000, 443), "quic");
        assert_eq!(guess(17, 53, 33000), "dns");
        assert_eq!(guess(6, 40000, 40001), "other-tcp");
        assert_eq!(guess(1, 0, 0), "icmp");
        assert_eq!(guess(47, 0, 0), "gre");
        assert_eq!(service_name(6, 22), "ssh");
        assert_eq!(service_name(6, 9), "");
    }
}
