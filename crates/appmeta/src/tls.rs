//! TLS handshake inspection: ClientHello / ServerHello fields and the JA3,
//! JA3S and JA4 fingerprints.
//!
//! Structure parsing (handshake header, ClientHello/ServerHello bodies and
//! extension contents) is done by `tls-parser`. Two small pieces are ours:
//! - the record-layer defragmenter ([`handshake_stream`]): `tls-parser`
//!   parses one record at a time, while a ClientHello may span several
//!   records (and TCP segments), so the handshake bytes are concatenated
//!   here, bounded by the caller's buffer;
//! - the walk over the raw extension block: JA3/JA4 need every extension
//!   type in wire order (including unknown and GREASE ones), and one
//!   malformed extension must not hide the others, so the type/length
//!   framing is walked here and each known extension's content is decoded
//!   by `tls_parser::parse_tls_extension`.
//!
//! Invariant: nothing here panics on any input; every loop advances by at
//! least one byte or stops.

use tls_parser::{TlsExtension, TlsMessage, TlsMessageHandshake};

use crate::error::ParseError;
use crate::text::{md5_hex, sha256_12};

/// TLS record content type "handshake".
const CT_HANDSHAKE: u8 = 22;
/// Handshake message type ClientHello.
const HS_CLIENT_HELLO: u8 = 1;
/// Handshake message type ServerHello.
const HS_SERVER_HELLO: u8 = 2;
/// Extension: server_name.
const EXT_SNI: u16 = 0x0000;
/// Extension: application_layer_protocol_negotiation.
const EXT_ALPN: u16 = 0x0010;
/// Extension: supported_versions.
const EXT_SUPPORTED_VERSIONS: u16 = 0x002b;

/// True for a GREASE value (RFC 8701): `0x?a?a` with equal bytes.
pub(crate) fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && (v >> 8) == (v & 0xff)
}

/// True when `data` starts like a TLS handshake record (type 22, major 3, minor 0..=4).
pub(crate) fn looks_like_tls(data: &[u8]) -> bool {
    matches!(data, [CT_HANDSHAKE, 3, minor, ..] if *minor <= 4)
}

/// Outcome of looking for the first handshake message in a byte stream.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Stream {
    /// More bytes are needed.
    Incomplete,
    /// The first handshake message (type, 3-byte length and body) is complete.
    Complete,
}

/// Concatenate the handshake-record payloads at the start of `records`
/// into `out` (cleared first), stopping at the first non-handshake record
/// or at an incomplete record. Returns [`Stream::Complete`] once `out`
/// holds the whole first handshake message.
pub(crate) fn handshake_stream(records: &[u8], out: &mut Vec<u8>) -> Result<Stream, ParseError> {
    out.clear();
    let mut rest = records;
    loop {
        if let Some(total) = first_message_len(out)
            && out.len() >= total
        {
            return Ok(Stream::Complete);
        }
        let [ct, major, _minor, l0, l1, body @ ..] = rest else {
            return Ok(Stream::Incomplete);
        };
        if *ct != CT_HANDSHAKE || *major != 3 {
            // A handshake message cut short by a change of content type.
            return Err(ParseError::Tls("record is not a handshake record"));
        }
        let len = usize::from(u16::from_be_bytes([*l0, *l1]));
        if len == 0 || len > (1 << 14) + 2048 {
            return Err(ParseError::Tls("bad record length"));
        }
        let Some(fragment) = body.get(..len) else {
            // Partial record: use what is there, wait for the rest.
            out.extend_from_slice(body);
            return Ok(match first_message_len(out) {
                Some(total) if out.len() >= total => Stream::Complete,
                _ => Stream::Incomplete,
            });
        };
        out.extend_from_slice(fragment);
        rest = body.get(len..).unwrap_or(&[]);
    }
}

/// Total length (header + body) of the handshake message starting `hs`, once its header is there.
pub(crate) fn first_message_len(hs: &[u8]) -> Option<usize> {
    match hs {
        [_, a, b, c, ..] => {
            Some(4 + ((usize::from(*a) << 16) | (usize::from(*b) << 8) | usize::from(*c)))
        }
        _ => None,
    }
}

/// The ClientHello fields that the metadata and fingerprints use.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct ClientHello {
    /// Legacy `client_version`.
    pub version: u16,
    /// Cipher suites in wire order (GREASE included).
    pub ciphers: Vec<u16>,
    /// Extension types in wire order (GREASE included).
    pub extensions: Vec<u16>,
    /// supported_groups (GREASE included).
    pub groups: Vec<u16>,
    /// ec_point_formats.
    pub point_formats: Vec<u8>,
    /// signature_algorithms in wire order.
    pub sig_algs: Vec<u16>,
    /// supported_versions list.
    pub supported_versions: Vec<u16>,
    /// First host_name of the server_name extension.
    pub sni: Option<Vec<u8>>,
    /// ALPN protocol names in order.
    pub alpn: Vec<Vec<u8>>,
}

/// The ServerHello fields used for the negotiated version and JA3S.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct ServerHello {
    /// Legacy `server_version`.
    pub version: u16,
    /// Selected cipher suite.
    pub cipher: u16,
    /// Extension types in wire order.
    pub extensions: Vec<u16>,
    /// supported_versions selection (TLS 1.3), if present.
    pub selected_version: Option<u16>,
    /// ALPN selected by the server, if present.
    pub alpn: Option<Vec<u8>>,
}

/// Walk an extension block: calls `f(type, whole_extension_bytes)` for
/// every extension; a truncated tail is an error.
fn walk_extensions(mut ext: &[u8], mut f: impl FnMut(u16, &[u8])) -> Result<(), ParseError> {
    while !ext.is_empty() {
        let [t0, t1, l0, l1, body @ ..] = ext else {
            return Err(ParseError::Tls("truncated extension header"));
        };
        let len = usize::from(u16::from_be_bytes([*l0, *l1]));
        if body.len() < len {
            return Err(ParseError::Tls("truncated extension"));
        }
        let (whole, rest) = ext.split_at(4 + len);
        f(u16::from_be_bytes([*t0, *t1]), whole);
        ext = rest;
    }
    Ok(())
}

/// Parse a complete ClientHello handshake message (header included).
pub(crate) fn parse_client_hello(msg: &[u8]) -> Result<ClientHello, ParseError> {
    if msg.first() != Some(&HS_CLIENT_HELLO) {
        return Err(ParseError::Tls(
            "first handshake message is not a ClientHello",
        ));
    }
    let (_, parsed) = tls_parser::parse_tls_message_handshake(msg)
        .map_err(|_| ParseError::Tls("malformed ClientHello"))?;
    let TlsMessage::Handshake(TlsMessageHandshake::ClientHello(ch)) = parsed else {
        return Err(ParseError::Tls("malformed ClientHello"));
    };
    let mut out = ClientHello {
        version: ch.version.0,
        ciphers: ch.ciphers.iter().map(|c| c.0).collect(),
        ..ClientHello::default()
    };
    walk_extensions(ch.ext.unwrap_or(&[]), |ty, raw| {
        out.extensions.push(ty);
        if !matches!(ty, 0x0000 | 0x000a | 0x000b | 0x000d | 0x0010 | 0x002b) {
            return;
        }
        // An extension whose content does not parse (e.g. an empty ALPN
        // list) keeps its type in the fingerprints and contributes no
        // content, as other fingerprinting tools do.
        let Ok((_, ext)) = tls_parser::parse_tls_extension(raw) else {
            return;
        };
        match ext {
            TlsExtension::SNI(names) => {
                out.sni = names
                    .iter()
                    .find(|(t, _)| t.0 == 0)
                    .map(|(_, n)| n.to_vec());
            }
            TlsExtension::EllipticCurves(g) => out.groups = g.iter().map(|g| g.0).collect(),
            TlsExtension::EcPointFormats(p) => out.point_formats = p.to_vec(),
            TlsExtension::SignatureAlgorithms(s) => out.sig_algs = s,
            TlsExtension::ALPN(names) => out.alpn = names.iter().map(|n| n.to_vec()).collect(),
            TlsExtension::SupportedVersions(v) => {
                out.supported_versions = v.iter().map(|v| v.0).collect()
            }
            _ => {}
        }
    })?;
    Ok(out)
}

/// Parse a complete ServerHello handshake message (header included).
pub(crate) fn parse_server_hello(msg: &[u8]) -> Result<ServerHello, ParseError> {
    if msg.first() != Some(&HS_SERVER_HELLO) {
        return Err(ParseError::Tls(
            "first server handshake message is not a ServerHello",
        ));
    }
    let (_, parsed) = tls_parser::parse_tls_message_handshake(msg)
        .map_err(|_| ParseError::Tls("malformed ServerHello"))?;
    let (version, cipher, ext) = match parsed {
        TlsMessage::Handshake(TlsMessageHandshake::ServerHello(sh)) => {
            (sh.version.0, sh.cipher.0, sh.ext)
        }
        TlsMessage::Handshake(TlsMessageHandshake::ServerHelloV13Draft18(sh)) => {
            (sh.version.0, sh.cipher.0, sh.ext)
        }
        _ => return Err(ParseError::Tls("malformed ServerHello")),
    };
    let mut out = ServerHello {
        version,
        cipher,
        ..ServerHello::default()
    };
    walk_extensions(ext.unwrap_or(&[]), |ty, raw| {
        out.extensions.push(ty);
        let body = raw.get(4..).unwrap_or(&[]);
        match ty {
            // The server's selection is a single u16 (RFC 8446 §4.2.1).
            EXT_SUPPORTED_VERSIONS => {
                if let [a, b] = body {
                    out.selected_version = Some(u16::from_be_bytes([*a, *b]));
                }
            }
            EXT_ALPN => {
                if let Ok((_, TlsExtension::ALPN(names))) = tls_parser::parse_tls_extension(raw) {
                    out.alpn = names.first().map(|n| n.to_vec());
                }
            }
            _ => {}
        }
    })?;
    Ok(out)
}

/// Human name of a TLS/DTLS protocol version ("TLSv1.2", ...).
pub(crate) fn version_name(v: u16) -> String {
    match v {
        0x0002 => "SSLv2".into(),
        0x0300 => "SSLv3".into(),
        0x0301 => "TLSv1".into(),
        0x0302 => "TLSv1.1".into(),
        0x0303 => "TLSv1.2".into(),
        0x0304 => "TLSv1.3".into(),
        0x7f00..=0x7fff => "TLSv1.3-draft".into(),
        0xfeff => "DTLSv1.0".into(),
        0xfefd => "DTLSv1.2".into(),
        0xfefc => "DTLSv1.3".into(),
        other => format!("0x{other:04x}"),
    }
}

impl ClientHello {
    /// The highest version offered: max of supported_versions (GREASE
    /// ignored) when present, else the legacy version.
    pub fn max_version(&self) -> u16 {
        self.supported_versions
            .iter()
            .copied()
            .filter(|v| !is_grease(*v))
            .max()
            .unwrap_or(self.version)
    }

    /// JA3 string: `version,ciphers,extensions,groups,point_formats`
    /// (decimal, '-' separated, GREASE removed).
    pub fn ja3(&self) -> String {
        format!(
            "{},{},{},{},{}",
            self.version,
            join_dec(self.ciphers.iter().copied()),
            join_dec(self.extensions.iter().copied()),
            join_dec(self.groups.iter().copied()),
            join_dec(self.point_formats.iter().map(|&p| u16::from(p))),
        )
    }

    /// JA4 fingerprint (FoxIO definition); `proto` is `'t'`, `'q'` or `'d'`.
    pub fn ja4(&self, proto: char) -> String {
        let version = match self.max_version() {
            0x0304 => "13",
            0x0303 => "12",
            0x0302 => "11",
            0x0301 => "10",
            0x0300 => "s3",
            0x0002 => "s2",
            0xfeff => "d1",
            0xfefd => "d2",
            0xfefc => "d3",
            _ => "00",
        };
        let sni = if self.extensions.contains(&EXT_SNI) {
            'd'
        } else {
            'i'
        };
        let mut ciphers: Vec<u16> = self
            .ciphers
            .iter()
            .copied()
            .filter(|c| !is_grease(*c))
            .collect();
        let exts: Vec<u16> = self
            .extensions
            .iter()
            .copied()
            .filter(|e| !is_grease(*e))
            .collect();
        let alpn = ja4_alpn(self.alpn.first().map(Vec::as_slice).unwrap_or(&[]));
        let a = format!(
            "{proto}{version}{sni}{:02}{:02}{alpn}",
            ciphers.len().min(99),
            exts.len().min(99)
        );

        ciphers.sort_unstable();
        let b = if ciphers.is_empty() {
            "000000000000".to_string()
        } else {
            sha256_12(&join_hex(&ciphers))
        };

        let mut sorted: Vec<u16> = exts
            .into_iter()
            .filter(|e| *e != EXT_SNI && *e != EXT_ALPN)
            .collect();
        sorted.sort_unstable();
        let sigs: Vec<u16> = self
            .sig_algs
            .iter()
            .copied()
            .filter(|s| !is_grease(*s))
            .collect();
        let c = if sorted.is_empty() {
            "000000000000".to_string()
        } else if sigs.is_empty() {
            sha256_12(&join_hex(&sorted))
        } else {
            sha256_12(&format!("{}_{}", join_hex(&sorted), join_hex(&sigs)))
        };
        format!("{a}_{b}_{c}")
    }
}

impl ServerHello {
    /// The negotiated version: supported_versions selection, else legacy version.
    pub fn negotiated_version(&self) -> u16 {
        self.selected_version.unwrap_or(self.version)
    }

    /// JA3S string: `version,cipher,extensions` (decimal, GREASE removed).
    pub fn ja3s(&self) -> String {
        format!(
            "{},{},{}",
            self.version,
            self.cipher,
            join_dec(self.extensions.iter().copied())
        )
    }
}

/// MD5 hex of a JA3/JA3S string.
pub(crate) fn ja3_hash(s: &str) -> String {
    md5_hex(s)
}

/// The two JA4 ALPN characters for the first ALPN value.
fn ja4_alpn(v: &[u8]) -> String {
    let (Some(&first), Some(&last)) = (v.first(), v.last()) else {
        return "00".to_string();
    };
    if first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric() {
        format!("{}{}", char::from(first), char::from(last))
    } else {
        // FoxIO: first hex digit of the first byte, last hex digit of the last byte.
        let h = crate::text::hex(&[first, last]);
        format!(
            "{}{}",
            h.get(0..1).unwrap_or("0"),
            h.get(3..4).unwrap_or("0")
        )
    }
}

fn join_dec(vals: impl Iterator<Item = u16>) -> String {
    let mut s = String::new();
    for v in vals.filter(|v| !is_grease(*v)) {
        if !s.is_empty() {
            s.push('-');
        }
        s.push_str(&v.to_string());
    }
    s
}

fn join_hex(vals: &[u16]) -> String {
    let mut s = String::with_capacity(vals.len() * 5);
    for v in vals {
        if !s.is_empty() {
            s.push(',');
        }
        s.push_str(&format!("{v:04x}"));
    }
    s
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A TLS 1.3-style ClientHello record for "example.com" with GREASE
    /// values, ALPN h2/http1.1, built byte by byte.
    pub(crate) fn sample_client_hello_record() -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&[0x03, 0x03]); // legacy version
        body.extend_from_slice(&[0x11; 32]); // random
        body.push(0); // session id
        let ciphers: [u16; 4] = [0x0a0a, 0x1301, 0x1302, 0xc02f];
        body.extend_from_slice(&((ciphers.len() * 2) as u16).to_be_bytes());
        for c in ciphers {
            body.extend_from_slice(&c.to_be_bytes());
        }
        body.extend_from_slice(&[1, 0]); // compression: null
        let mut ext = Vec::new();
        let mut push_ext = |ty: u16, data: &[u8]| {
            ext.extend_from_slice(&ty.to_be_bytes());
            ext.extend_from_slice(&(data.len() as u16).to_be_bytes());
            ext.extend_from_slice(data);
        };
        push_ext(0x1a1a, &[]); // GREASE
        let name = b"example.com";
        let mut sni = Vec::new();
        sni.extend_from_slice(&((name.len() + 3) as u16).to_be_bytes());
        sni.push(0);
        sni.extend_from_slice(&(name.len() as u16).to_be_bytes());
        sni.extend_from_slice(name);
        push_ext(0x0000, &sni);
        push_ext(0x000a, &[0, 6, 0x2a, 0x2a, 0, 0x1d, 0, 0x17]); // groups
        push_ext(0x000b, &[1, 0]); // point formats
        push_ext(0x000d, &[0, 4, 0x04, 0x03, 0x08, 0x04]); // sig algs
        push_ext(
            0x0010,
            &[
                0, 12, 2, b'h', b'2', 8, b'h', b't', b't', b'p', b'/', b'1', b'.', b'1',
            ],
        );
        push_ext(0x002b, &[4, 0x03, 0x04, 0x03, 0x03]); // supported versions
        body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
        body.extend_from_slice(&ext);
        let mut hs = vec![HS_CLIENT_HELLO, 0];
        hs.extend_from_slice(&(body.len() as u16).to_be_bytes());
        hs.extend_from_slice(&body);
        let mut rec = vec![CT_HANDSHAKE, 3, 1];
        rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
        rec.extend_from_slice(&hs);
        rec
    }

    #[test]
    fn client_hello_fields_and_fingerprints() {
        let rec = sample_client_hello_record();
        let mut hs = Vec::new();
        assert_eq!(handshake_stream(&rec, &mut hs).unwrap(), Stream::Complete);
        let ch = parse_client_hello(&hs).unwrap();
        assert_eq!(ch.sni.as_deref(), Some(&b"example.com"[..]));
        assert_eq!(ch.alpn, vec![b"h2".to_vec(), b"http/1.1".to_vec()]);
        assert_eq!(ch.max_version(), 0x0304);
        assert_eq!(ch.ja3(), "771,4865-4866-49199,0-10-11-13-16-43,29-23,0");
        let ja4 = ch.ja4('t');
        // 3 ciphers, 6 extensions (GREASE dropped), ALPN "h2".
        assert!(ja4.starts_with("t13d0306h2_"), "{ja4}");
        let b = sha256_12("1301,1302,c02f");
        let c = sha256_12("000a,000b,000d,002b_0403,0804");
        assert_eq!(ja4, format!("t13d0306h2_{b}_{c}"));
    }

    #[test]
    fn record_fragmentation_is_reassembled() {
        let rec = sample_client_hello_record();
        let hs_body = &rec[5..];
        // Re-frame the handshake message as three records of 40, 40 and the rest.
        let mut framed = Vec::new();
        for chunk in hs_body.chunks(40) {
            framed.extend_from_slice(&[CT_HANDSHAKE, 3, 1]);
            framed.extend_from_slice(&(chunk.len() as u16).to_be_bytes());
            framed.extend_from_slice(chunk);
        }
        let mut hs = Vec::new();
        assert_eq!(
            handshake_stream(&framed[..50], &mut hs).unwrap(),
            Stream::Incomplete
        );
        assert_eq!(
            handshake_stream(&framed, &mut hs).unwrap(),
            Stream::Complete
        );
        assert_eq!(
            parse_client_hello(&hs).unwrap().sni.as_deref(),
            Some(&b"example.com"[..])
        );
    }

    #[test]
    fn truncation_never_panics() {
        let rec = sample_client_hello_record();
        let mut hs = Vec::new();
        for cut in 0..rec.len() {
            let r = handshake_stream(&rec[..cut], &mut hs);
            assert_eq!(r.unwrap(), Stream::Incomplete, "cut {cut}");
            let _ = parse_client_hello(&hs);
        }
    }

    #[test]
    fn alpn_chars() {
        assert_eq!(ja4_alpn(b"h2"), "h2");
        assert_eq!(ja4_alpn(b""), "00");
        assert_eq!(ja4_alpn(&[0xab, 0xcd]), "ad");
        assert_eq!(ja4_alpn(b"http/1.1"), "h1");
    }

    #[test]
    fn grease() {
        assert!(is_grease(0x0a0a) && is_grease(0xfafa));
        assert!(!is_grease(0x0a1a) && !is_grease(0x1301));
    }
}
