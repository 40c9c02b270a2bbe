//! Capture link types (pcap `LINKTYPE_*` values, plus the legacy `DLT_*`
//! numbers that some writers store) understood by [`crate::dissect`].
//!
//! Invariant: every constant here is accepted by [`crate::dissect`]; any other
//! value yields [`crate::DissectError::UnsupportedLinkType`].

/// BSD loopback: 4-byte address family in the capturing host's byte order.
pub const NULL: u32 = 0;
/// Ethernet II / 802.3.
pub const ETHERNET: u32 = 1;
/// PPP (RFC 1661), optionally with HDLC address/control bytes.
pub const PPP: u32 = 9;
/// Legacy `DLT_RAW` on most systems: raw IPv4/IPv6.
pub const RAW_LEGACY_12: u32 = 12;
/// Legacy `DLT_RAW` on OpenBSD: raw IPv4/IPv6.
pub const RAW_LEGACY_14: u32 = 14;
/// PPP in HDLC-like framing (RFC 1662).
pub const PPP_HDLC: u32 = 50;
/// Raw IPv4/IPv6, version taken from the first nibble.
pub const RAW: u32 = 101;
/// Cisco HDLC: address, control, EtherType.
pub const C_HDLC: u32 = 104;
/// IEEE 802.11 without a radio header.
pub const IEEE802_11: u32 = 105;
/// OpenBSD loopback: 4-byte address family in network byte order.
pub const LOOP: u32 = 108;
/// Linux "cooked" capture v1.
pub const LINUX_SLL: u32 = 113;
/// IEEE 802.11 preceded by a radiotap header.
pub const IEEE802_11_RADIOTAP: u32 = 127;
/// Per-Packet Information header followed by another link type.
pub const PPI: u32 = 192;
/// Raw IPv4.
pub const IPV4: u32 = 228;
/// Raw IPv6.
pub const IPV6: u32 = 229;
/// Linux netfilter NFLOG (TLVs, one of which carries the IP packet).
pub const NFLOG: u32 = 239;
/// Linux "cooked" capture v2.
pub const LINUX_SLL2: u32 = 276;

/// Short lower-case name of a link type ("unknown" when not decoded by netlens).
pub fn linktype_name(lt: u32) -> &'static str {
    match lt {
        NULL => "null",
        ETHERNET => "ethernet",
        PPP => "ppp",
        RAW_LEGACY_12 | RAW_LEGACY_14 | RAW => "raw",
        PPP_HDLC => "ppp_hdlc",
        C_HDLC => "cisco_hdlc",
        IEEE802_11 => "ieee802_11",
        LOOP => "loop",
        LINUX_SLL => "linux_sll",
        IEEE802_11_RADIOTAP => "ieee802_11_radiotap",
        PPI => "ppi",
        IPV4 => "ipv4",
        IPV6 => "ipv6",
        NFLOG => "nflog",
        LINUX_SLL2 => "linux_sll2",
        _ => "unknown",
    }
}

/// Every link type [`crate::dissect`] decodes (useful for fuzzing and tests).
pub const SUPPORTED: [u32; 17] = [
    NULL,
    ETHERNET,
    PPP,
    RAW_LEGACY_12,
    RAW_LEGACY_14,
    PPP_HDLC,
    RAW,
    C_HDLC,
    IEEE802_11,
    LOOP,
    LINUX_SLL,
    IEEE802_11_RADIOTAP,
    PPI,
    IPV4,
    IPV6,
    NFLOG,
    LINUX_SLL2,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(linktype_name(ETHERNET), "ethernet");
        assert_eq!(linktype_name(LINUX_SLL), "linux_sll");
        assert_eq!(linktype_name(12), "raw");
        assert_eq!(linktype_name(9999), "unknown");
        for lt in SUPPORTED {
            assert_ne!(linktype_name(lt), "unknown", "{lt}");
        }
    }
}
