//! Port-based application guess for the per-application byte mix.
//!
//! The port table is `netlens_appmeta::ports` (the same guess the flow
//! table's `application_name` falls back to). It is a *guess*: traffic on
//! non-standard ports lands in `other-tcp`/`other-udp`, and a service on a
//! well-known port of another is misnamed.
//!
//! Invariant: the returned name is one of a fixed set of `&'static str`, so
//! the number of distinct applications is bounded.

/// How the application of a flow or packet is determined (shown in reports).
pub const METHOD: &str =
    "port-based guess (IANA well-known ports of the lower-numbered or listed endpoint)";

/// The one port table of the project lives in the app-metadata crate.
fn by_port(protocol: u8, port: u16) -> Option<&'static str> {
    netlens_appmeta::ports::guess(protocol, port)
}

/// Zeek connection states in which the originator's SYN was seen: the
/// flow's source is the client and its destination port the service.
const CLIENT_KNOWN_STATES: [&str; 10] = [
    "S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "SH",
];

/// The application of a flow: as [`guess`], except that a TCP flow whose
/// opening SYN was seen (its `conn_state`) is named by its destination port
/// alone. Otherwise a SYN flood or scan from random source ports would be
/// counted as TLS, HTTP, FTP... whenever a random port is a well-known one.
pub fn guess_flow(protocol: u8, src_port: u16, dst_port: u16, conn_state: &str) -> &'static str {
    if protocol == 6 && CLIENT_KNOWN_STATES.contains(&conn_state) {
        return by_port(6, dst_port).unwrap_or("other-tcp");
    }
    guess(protocol, src_port, dst_port)
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
        // A spoofed SYN from port 443 to a game server is not TLS.
        assert_eq!(guess_flow(6, 443, 25565, "S0"), "other-tcp");
        assert_eq!(guess_flow(6, 51000, 443, "SF"), "tls");
        // Mid-stream (no SYN seen): either port may be the service.
        assert_eq!(guess_flow(6, 443, 51000, "OTH"), "tls");
        assert_eq!(guess_flow(17, 53, 33000, ""), "dns");
        assert_eq!(service_name(6, 22), "ssh");
        assert_eq!(service_name(6, 9), "");
    }
}
