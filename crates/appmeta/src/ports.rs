//! Port-based service guess, used when no payload parser recognised the
//! flow. A guess says only what the port usually carries.

/// Service usually found on `port` for IP protocol `protocol` (6 TCP, 17 UDP).
pub fn guess(protocol: u8, port: u16) -> Option<&'static str> {
    let tcp = protocol == 6;
    let udp = protocol == 17;
    Some(match port {
        20 | 21 if tcp => "ftp",
        22 if tcp => "ssh",
        23 if tcp => "telnet",
        25 | 587 if tcp => "smtp",
        53 => "dns",
        67 | 68 if udp => "dhcp",
        69 if udp => "tftp",
        80 | 8000 | 8080 if tcp => "http",
        88 => "kerberos",
        110 if tcp => "pop3",
        123 if udp => "ntp",
        137..=139 => "netbios",
        143 if tcp => "imap",
        161 | 162 if udp => "snmp",
        179 if tcp => "bgp",
        389 => "ldap",
        443 | 8443 if tcp => "tls",
        443 if udp => "quic",
        445 if tcp => "smb",
        465 | 636 | 853 | 993 | 995 if tcp => "tls",
        500 | 4500 if udp => "ipsec",
        514 if udp => "syslog",
        547 | 546 if udp => "dhcpv6",
        1194 => "openvpn",
        1883 if tcp => "mqtt",
        1900 if udp => "ssdp",
        3306 if tcp => "mysql",
        3389 => "rdp",
        3478 | 19302 if udp => "stun",
        5060 | 5061 => "sip",
        5353 if udp => "mdns",
        5355 if udp => "llmnr",
        5432 if tcp => "postgresql",
        6379 if tcp => "redis",
        _ => return None,
    })
}

/// Guess from a flow's ports: the destination first, then the source.
pub fn guess_flow(protocol: u8, src_port: u16, dst_port: u16) -> Option<&'static str> {
    guess(protocol, dst_port).or_else(|| guess(protocol, src_port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses() {
        assert_eq!(guess(6, 443), Some("tls"));
        assert_eq!(guess(17, 443), Some("quic"));
        assert_eq!(guess(17, 22), None);
        assert_eq!(guess_flow(17, 123, 40000), Some("ntp"));
        assert_eq!(guess_flow(6, 40000, 40001), None);
    }
}
