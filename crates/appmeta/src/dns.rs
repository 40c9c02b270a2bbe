//! DNS question and response-code extraction.
//!
//! Why not a crate: full-message parsers (simple-dns, hickory) reject the
//! whole message when any resource record is malformed, and the flow only
//! needs the header and the first question. This reads exactly those,
//! following name compression pointers with a hard cap on jumps
//! ([`MAX_JUMPS`]) and on name length (255 bytes, RFC 1035), so hostile
//! pointer loops end quickly.

use crate::error::ParseError;

/// Most compression pointers followed in one name.
const MAX_JUMPS: usize = 16;
/// Longest presentation-form name kept (RFC 1035 limit).
const MAX_NAME: usize = 255;

/// The parts of a DNS message kept as flow metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DnsMessage {
    /// QR bit: true for a response.
    pub response: bool,
    /// RCODE (low 4 bits of the flags).
    pub rcode: u8,
    /// First question: name (lower-cased, dot-separated, no trailing dot) and type.
    pub question: Option<(String, u16)>,
}

/// Parse the header and first question of a DNS message.
pub(crate) fn parse(msg: &[u8]) -> Result<DnsMessage, ParseError> {
    let [_, _, f0, f1, q0, q1, ..] = msg else {
        return Err(ParseError::Dns("shorter than the header"));
    };
    if msg.len() < 12 {
        return Err(ParseError::Dns("shorter than the header"));
    }
    let response = f0 & 0x80 != 0;
    let opcode = (f0 >> 3) & 0x0f;
    if opcode > 6 {
        return Err(ParseError::Dns("unassigned opcode"));
    }
    let rcode = f1 & 0x0f;
    let qdcount = u16::from_be_bytes([*q0, *q1]);
    let question = if qdcount == 0 {
        None
    } else {
        let (name, end) = read_name(msg, 12)?;
        let ty = msg
            .get(end..end + 2)
            .ok_or(ParseError::Dns("truncated question"))?;
        msg.get(end + 2..end + 4)
            .ok_or(ParseError::Dns("truncated question"))?;
        Some((name, u16::from_be_bytes([ty[0], ty[1]])))
    };
    Ok(DnsMessage {
        response,
        rcode,
        question,
    })
}

/// Read a (possibly compressed) name at `pos`; returns it and the offset after it.
fn read_name(msg: &[u8], mut pos: usize) -> Result<(String, usize), ParseError> {
    let mut name = String::new();
    let mut end_after = None;
    let mut jumps = 0;
    loop {
        let len = *msg.get(pos).ok_or(ParseError::Dns("truncated name"))?;
        match len & 0xc0 {
            0x00 => {
                if len == 0 {
                    return Ok((name, end_after.unwrap_or(pos + 1)));
                }
                let label = msg
                    .get(pos + 1..pos + 1 + usize::from(len))
                    .ok_or(ParseError::Dns("truncated label"))?;
                if name.len() + label.len() + 1 > MAX_NAME {
                    return Err(ParseError::Dns("name longer than 255 bytes"));
                }
                if !name.is_empty() {
                    name.push('.');
                }
                for &b in label {
                    name.push(if b.is_ascii_graphic() {
                        char::from(b.to_ascii_lowercase())
                    } else {
                        '?'
                    });
                }
                pos += 1 + usize::from(len);
            }
            0xc0 => {
                let lo = *msg
                    .get(pos + 1)
                    .ok_or(ParseError::Dns("truncated pointer"))?;
                jumps += 1;
                if jumps > MAX_JUMPS {
                    return Err(ParseError::Dns("too many compression pointers"));
                }
                end_after.get_or_insert(pos + 2);
                pos = (usize::from(len & 0x3f) << 8) | usize::from(lo);
            }
            _ => return Err(ParseError::Dns("reserved label type")),
        }
    }
}

/// Mnemonic for common query types, else the number.
pub(crate) fn qtype_name(t: u16) -> String {
    let s = match t {
        1 => "A",
        2 => "NS",
        5 => "CNAME",
        6 => "SOA",
        12 => "PTR",
        13 => "HINFO",
        15 => "MX",
        16 => "TXT",
        28 => "AAAA",
        33 => "SRV",
        35 => "NAPTR",
        41 => "OPT",
        43 => "DS",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        64 => "SVCB",
        65 => "HTTPS",
        252 => "AXFR",
        255 => "ANY",
        257 => "CAA",
        _ => return t.to_string(),
    };
    s.to_string()
}

/// Mnemonic for a response code (RFC 6895), else the number.
pub(crate) fn rcode_name(r: u8) -> String {
    let s = match r {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        _ => return r.to_string(),
    };
    s.to_string()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Query for www.example.com A (id 0x1234, RD).
    pub(crate) const QUERY: &[u8] = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\
\x03www\x07example\x03com\x00\x00\x01\x00\x01";

    /// NXDOMAIN response echoing the question, with an answer name using a pointer.
    pub(crate) const RESPONSE: &[u8] = b"\x12\x34\x81\x83\x00\x01\x00\x01\x00\x00\x00\x00\
\x03www\x07example\x03com\x00\x00\x01\x00\x01\
\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x01\x02\x03\x04";

    #[test]
    fn query_and_response() {
        let q = parse(QUERY).unwrap();
        assert!(!q.response);
        assert_eq!(q.question, Some(("www.example.com".to_string(), 1)));
        let r = parse(RESPONSE).unwrap();
        assert!(r.response);
        assert_eq!(r.rcode, 3);
        assert_eq!(rcode_name(r.rcode), "NXDOMAIN");
    }

    #[test]
    fn compression_pointer_in_question_and_loops() {
        let (name, end) = read_name(RESPONSE, 33).unwrap();
        assert_eq!(name, "www.example.com");
        assert_eq!(end, 35);
        // A pointer to itself.
        let mut looped = QUERY.to_vec();
        looped[12] = 0xc0;
        looped[13] = 12;
        assert_eq!(
            parse(&looped),
            Err(ParseError::Dns("too many compression pointers"))
        );
    }

    #[test]
    fn truncations_are_errors() {
        for cut in 0..QUERY.len() {
            assert!(parse(&QUERY[..cut]).is_err(), "cut {cut}");
        }
    }
}
