//! Application metadata from flow payloads.
//!
//! # Brief overview
//!
//! One [`AppState`] is kept per flow (only when application metadata is
//! wanted). The flow meter feeds it each packet's transport payload with
//! [`AppState::on_payload`] until [`AppState::done`] says nothing more can
//! be learned; [`AppState::meta`] then holds an [`AppMeta`]:
//!
//! - TLS over TCP: SNI, offered and selected ALPN, TLS version, JA3 (+MD5),
//!   JA4, JA3S (+MD5);
//! - QUIC: version, and from the decrypted client Initial(s) the same
//!   ClientHello fields (SNI, ALPN, JA3, JA4 with `q`);
//! - DNS (UDP/TCP 53, mDNS 5353, LLMNR 5355): first query name and type,
//!   response code;
//! - HTTP/1: method, Host, User-Agent, Content-Type, status;
//! - SSH: both identification banners, HASSH and HASSHServer;
//! - otherwise a port-based service guess.
//!
//! ```
//! use netlens_appmeta::AppState;
//! let mut st = AppState::new(6, 40000, 80);
//! st.on_payload(true, b"GET / HTTP/1.1\r\nHost: example.org\r\n\r\n");
//! st.on_payload(false, b"HTTP/1.1 204 No Content\r\n\r\n");
//! assert!(st.done());
//! assert_eq!(st.meta().service, "http");
//! assert_eq!(st.meta().http_host.as_deref(), Some("example.org"));
//! ```
//!
//! # Invariants
//!
//! - No input panics, and memory per flow is bounded: each TCP direction
//!   buffers at most [`MAX_STREAM`] bytes, QUIC CRYPTO reassembly at most
//!   [`quic::MAX_CRYPTO`] bytes, and at most [`MAX_PAYLOAD_PACKETS`]
//!   payload-carrying packets are inspected per flow.
//! - TCP reassembly is in-order concatenation of payloads as they arrive:
//!   retransmissions or reordering can corrupt a handshake that spans
//!   segments (it then counts as a parse failure); there is no sequence
//!   number tracking.
//! - Truncated or malformed payloads leave the corresponding fields empty
//!   and add one to [`AppMeta::parse_errors`] (at most once per direction
//!   and protocol step).
//! - Every string field is at most [`MAX_TEXT`] bytes of printable ASCII
//!   (other bytes become `?`), except the JA3/JA3S strings, bounded by
//!   [`MAX_JA3`].
//! - Once [`AppState::done`] is true, [`AppState::on_payload`] returns at
//!   once and allocates nothing; buffers are freed.

#![deny(missing_docs)]

mod dns;
pub mod error;
mod http;
pub mod ports;
pub mod quic;
mod ssh;
pub mod text;
mod tls;

pub use error::ParseError;
pub use text::MAX_TEXT;

use text::{clean, clean_bounded};

/// Most bytes buffered per TCP direction to reassemble a handshake.
pub const MAX_STREAM: usize = 16 * 1024;
/// Most payload-carrying packets inspected per flow.
pub const MAX_PAYLOAD_PACKETS: u32 = 32;
/// UDP payloads looked at to recognise QUIC (a client may first try a
/// version the server rejects) before giving up.
pub const UDP_DECIDE_PACKETS: u32 = 4;
/// Longest JA3/JA3S string kept (the hash is computed over the full string).
pub const MAX_JA3: usize = 2048;

/// Application metadata of one flow. Empty fields mean "not seen".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppMeta {
    /// Service name: from a payload parser ("tls", "quic", "dns", "mdns",
    /// "llmnr", "http", "ssh") when `service_from_payload`, else a port
    /// guess ("ntp", "smtp", ...) or "" when unknown.
    pub service: &'static str,
    /// True when `service` was recognised from the payload, false for a port guess.
    pub service_from_payload: bool,
    /// TLS/QUIC server name indication.
    pub server_name: Option<String>,
    /// ALPN protocols offered by the client, comma-separated.
    pub alpn: Option<String>,
    /// ALPN protocol selected by the server (TLS over TCP).
    pub alpn_selected: Option<String>,
    /// TLS version: negotiated (from the ServerHello) when seen, else the
    /// highest offered by the client ("TLSv1.2", "TLSv1.3", ...).
    pub tls_version: Option<String>,
    /// JA3 string of the ClientHello.
    pub ja3: Option<String>,
    /// MD5 (hex) of the full JA3 string.
    pub ja3_hash: Option<String>,
    /// JA4 fingerprint of the ClientHello.
    pub ja4: Option<String>,
    /// JA3S string of the ServerHello.
    pub ja3s: Option<String>,
    /// MD5 (hex) of the full JA3S string.
    pub ja3s_hash: Option<String>,
    /// First DNS question name (lower case, no trailing dot).
    pub dns_query: Option<String>,
    /// First DNS question type ("A", "AAAA", ... or the number).
    pub dns_qtype: Option<String>,
    /// Response code of the first DNS response ("NOERROR", "NXDOMAIN", ...).
    pub dns_rcode: Option<String>,
    /// HTTP request Host header.
    pub http_host: Option<String>,
    /// HTTP request method.
    pub http_method: Option<String>,
    /// HTTP request User-Agent header.
    pub http_user_agent: Option<String>,
    /// HTTP Content-Type: of the response when present, else of the request.
    pub http_content_type: Option<String>,
    /// HTTP response status code.
    pub http_status: Option<u16>,
    /// QUIC version of the first long-header packet ("v1", "v2", "draft-29", "Q050", ...).
    pub quic_version: Option<String>,
    /// SSH client identification string.
    pub ssh_client_banner: Option<String>,
    /// SSH server identification string.
    pub ssh_server_banner: Option<String>,
    /// HASSH: MD5 of the client KEXINIT algorithm lists.
    pub hassh: Option<String>,
    /// HASSHServer: MD5 of the server KEXINIT algorithm lists.
    pub hassh_server: Option<String>,
    /// Payloads that could not be parsed (truncated or malformed).
    pub parse_errors: u32,
}

/// Which parser a flow uses once recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proto {
    /// Not recognised yet.
    Undecided,
    Tls,
    Http,
    Ssh,
    Dns,
    Quic,
    /// Nothing to parse: metadata is final.
    Opaque,
}

/// Per-direction TCP reassembly state.
#[derive(Default)]
struct Dir {
    buf: Vec<u8>,
    /// This direction has nothing more to give (parsed, failed or over bound).
    finished: bool,
    /// SSH: offset just past the banner, once found.
    ssh_banner_end: Option<usize>,
}

impl Dir {
    fn push(&mut self, payload: &[u8]) {
        let room = MAX_STREAM.saturating_sub(self.buf.len());
        let take = payload.get(..room.min(payload.len())).unwrap_or(&[]);
        self.buf.extend_from_slice(take);
    }

    fn full(&self) -> bool {
        self.buf.len() >= MAX_STREAM
    }

    fn finish(&mut self) {
        self.finished = true;
        self.buf = Vec::new();
    }
}

/// Per-flow application metadata state, kept by the flow meter (boxed, one
/// per flow, only when app metadata is requested).
pub struct AppState {
    meta: AppMeta,
    protocol: u8,
    src_port: u16,
    dst_port: u16,
    proto: Proto,
    client: Dir,
    server: Dir,
    quic: Option<Box<quic::QuicClient>>,
    scratch: Vec<u8>,
    packets: u32,
    dns_response_seen: bool,
    done: bool,
}

impl AppState {
    /// New state for a flow of IP `protocol` (6 TCP, 17 UDP, other: port
    /// guess only) whose client (the flow's source) uses `src_port`.
    pub fn new(protocol: u8, src_port: u16, dst_port: u16) -> AppState {
        let guess = ports::guess_flow(protocol, src_port, dst_port);
        let meta = AppMeta {
            service: guess.unwrap_or(""),
            ..AppMeta::default()
        };
        AppState {
            meta,
            protocol,
            src_port,
            dst_port,
            proto: if protocol == 6 || protocol == 17 {
                Proto::Undecided
            } else {
                Proto::Opaque
            },
            client: Dir::default(),
            server: Dir::default(),
            quic: None,
            scratch: Vec::new(),
            packets: 0,
            dns_response_seen: false,
            done: !(protocol == 6 || protocol == 17),
        }
    }

    /// Feed one packet's transport payload. `from_client` = the packet goes
    /// src→dst of the flow. Empty payloads are ignored. Returns at once when
    /// [`done`](Self::done).
    pub fn on_payload(&mut self, from_client: bool, payload: &[u8]) {
        if self.done || payload.is_empty() {
            return;
        }
        self.packets += 1;
        if self.proto == Proto::Undecided {
            self.decide(payload);
        }
        match self.proto {
            Proto::Undecided | Proto::Opaque => {}
            Proto::Tls | Proto::Http | Proto::Ssh => self.on_tcp_stream(from_client, payload),
            Proto::Dns => self.on_dns(payload),
            Proto::Quic => self.on_quic(from_client, payload),
        }
        if self.proto == Proto::Opaque || self.packets >= MAX_PAYLOAD_PACKETS {
            self.finish();
        }
    }

    /// True when nothing more can be learned: the meter may stop calling
    /// [`on_payload`](Self::on_payload).
    pub fn done(&self) -> bool {
        self.done
    }

    /// The metadata gathered so far.
    pub fn meta(&self) -> &AppMeta {
        &self.meta
    }

    /// Consume the state, returning its metadata.
    pub fn into_meta(self) -> AppMeta {
        self.meta
    }

    fn finish(&mut self) {
        self.done = true;
        self.client.finish();
        self.server.finish();
        self.quic = None;
        self.scratch = Vec::new();
    }

    fn set_service(&mut self, name: &'static str) {
        self.meta.service = name;
        self.meta.service_from_payload = true;
    }

    /// Recognise the protocol from a payload while undecided.
    ///
    /// TCP flows stay undecided (each payload is checked) until
    /// [`MAX_PAYLOAD_PACKETS`], so TLS started late (STARTTLS, RDP over TLS)
    /// or after stray bytes is still found. UDP flows are decided within
    /// [`UDP_DECIDE_PACKETS`] payloads.
    fn decide(&mut self, p: &[u8]) {
        let dns_port = |port: u16| matches!(port, 53 | 5353 | 5355);
        let dns_service = |a: u16, b: u16| match (a, b) {
            (5353, _) | (_, 5353) => "mdns",
            (5355, _) | (_, 5355) => "llmnr",
            _ => "dns",
        };
        if self.protocol == 17 {
            if let Some(v) = quic::looks_like_long_header(p) {
                self.proto = Proto::Quic;
                self.set_service("quic");
                self.meta.quic_version = Some(quic::version_name(v));
            } else if dns_port(self.src_port) || dns_port(self.dst_port) {
                self.proto = Proto::Dns;
                self.set_service(dns_service(self.src_port, self.dst_port));
            } else if self.packets >= UDP_DECIDE_PACKETS {
                self.proto = Proto::Opaque;
            }
            return;
        }
        // TCP.
        if tls::looks_like_tls(p) {
            self.proto = Proto::Tls;
            self.set_service("tls");
        } else if http::looks_like_request(p) || http::looks_like_response(p) {
            self.proto = Proto::Http;
            self.set_service("http");
        } else if ssh::looks_like_ssh(p) {
            self.proto = Proto::Ssh;
            self.set_service("ssh");
        } else if self.src_port == 53 || self.dst_port == 53 {
            self.proto = Proto::Dns;
            self.set_service("dns");
        }
    }

    fn error(&mut self) {
        self.meta.parse_errors = self.meta.parse_errors.saturating_add(1);
    }

    fn on_tcp_stream(&mut self, from_client: bool, payload: &[u8]) {
        // SSH roles follow the well-known port when the flow was started by the server.
        let as_client = if self.proto == Proto::Ssh && self.src_port == 22 && self.dst_port != 22 {
            !from_client
        } else {
            from_client
        };
        let dir = if as_client {
            &mut self.client
        } else {
            &mut self.server
        };
        if dir.finished {
            return;
        }
        dir.push(payload);
        let result = match self.proto {
            Proto::Tls => self.tls_step(as_client),
            Proto::Http => self.http_step(as_client),
            Proto::Ssh => self.ssh_step(as_client),
            _ => Ok(true),
        };
        let dir = if as_client {
            &mut self.client
        } else {
            &mut self.server
        };
        match result {
            Ok(true) => dir.finish(),
            Ok(false) if dir.full() => {
                dir.finish();
                self.error();
            }
            Ok(false) => {}
            Err(_) => {
                dir.finish();
                self.error();
            }
        }
        if self.client.finished && self.server.finished {
            self.finish();
        }
    }

    /// One TLS parsing attempt on a direction's buffer; `Ok(true)` when done with it.
    fn tls_step(&mut self, as_client: bool) -> Result<bool, ParseError> {
        let buf = if as_client {
            &self.client.buf
        } else {
            &self.server.buf
        };
        if tls::handshake_stream(buf, &mut self.scratch)? == tls::Stream::Incomplete {
            return Ok(false);
        }
        let len = tls::first_message_len(&self.scratch).unwrap_or(0);
        let msg = self.scratch.get(..len).unwrap_or(&[]);
        // Route by message type, so a flow seen from the server side still works.
        match msg.first() {
            Some(1) => {
                let ch = tls::parse_client_hello(msg)?;
                self.apply_client_hello(&ch, 't');
            }
            Some(2) => {
                let sh = tls::parse_server_hello(msg)?;
                self.meta.tls_version = Some(tls::version_name(sh.negotiated_version()));
                let ja3s = sh.ja3s();
                self.meta.ja3s_hash = Some(tls::ja3_hash(&ja3s));
                self.meta.ja3s = Some(clean_bounded(ja3s.as_bytes(), MAX_JA3));
                self.meta.alpn_selected = sh.alpn.as_deref().map(clean);
            }
            _ => return Err(ParseError::Tls("first handshake message is not a hello")),
        }
        Ok(true)
    }

    fn apply_client_hello(&mut self, ch: &tls::ClientHello, proto: char) {
        self.meta.server_name = ch.sni.as_deref().map(clean);
        if !ch.alpn.is_empty() {
            let joined = ch
                .alpn
                .iter()
                .map(|a| clean(a))
                .collect::<Vec<_>>()
                .join(",");
            self.meta.alpn = Some(clean(joined.as_bytes()));
        }
        if self.meta.tls_version.is_none() {
            self.meta.tls_version = Some(tls::version_name(ch.max_version()));
        }
        let ja3 = ch.ja3();
        self.meta.ja3_hash = Some(tls::ja3_hash(&ja3));
        self.meta.ja3 = Some(clean_bounded(ja3.as_bytes(), MAX_JA3));
        self.meta.ja4 = Some(ch.ja4(proto));
    }

    fn http_step(&mut self, as_client: bool) -> Result<bool, ParseError> {
        let buf = if as_client {
            &self.client.buf
        } else {
            &self.server.buf
        };
        if http::looks_like_request(buf) {
            let Some(r) = http::parse_request(buf)? else {
                return Ok(false);
            };
            self.meta.http_method = Some(clean(&r.method));
            self.meta.http_host = r.host.as_deref().map(clean);
            self.meta.http_user_agent = r.user_agent.as_deref().map(clean);
            if self.meta.http_content_type.is_none() {
                self.meta.http_content_type = r.content_type.as_deref().map(clean);
            }
        } else if http::looks_like_response(buf) {
            let Some(r) = http::parse_response(buf)? else {
                return Ok(false);
            };
            self.meta.http_status = Some(r.status);
            if let Some(ct) = r.content_type.as_deref() {
                self.meta.http_content_type = Some(clean(ct));
            }
        } else if buf.len() >= 8 {
            return Err(ParseError::Http("not an HTTP/1 head"));
        } else {
            return Ok(false);
        }
        Ok(true)
    }

    fn ssh_step(&mut self, as_client: bool) -> Result<bool, ParseError> {
        let dir = if as_client {
            &mut self.client
        } else {
            &mut self.server
        };
        let start = match dir.ssh_banner_end {
            Some(end) => end,
            None => {
                let Some((line, end)) = ssh::banner(&dir.buf)? else {
                    return Ok(false);
                };
                let banner = Some(clean(line));
                dir.ssh_banner_end = Some(end);
                if as_client {
                    self.meta.ssh_client_banner = banner;
                } else {
                    self.meta.ssh_server_banner = banner;
                }
                end
            }
        };
        let dir = if as_client {
            &self.client
        } else {
            &self.server
        };
        let Some(h) = ssh::kexinit_hassh(dir.buf.get(start..).unwrap_or(&[]), as_client)? else {
            return Ok(false);
        };
        let hash = Some(ssh::hassh_hash(&h));
        if as_client {
            self.meta.hassh = hash;
        } else {
            self.meta.hassh_server = hash;
        }
        Ok(true)
    }

    fn on_dns(&mut self, payload: &[u8]) {
        // DNS over TCP carries a 2-byte length prefix per message (RFC 1035 §4.2.2);
        // only a message starting a segment is read.
        let msg = if self.protocol == 6 {
            payload.get(2..).unwrap_or(&[])
        } else {
            payload
        };
        match dns::parse(msg) {
            Ok(m) => {
                if let Some((name, ty)) = m.question
                    && self.meta.dns_query.is_none()
                {
                    self.meta.dns_query = Some(clean(name.as_bytes()));
                    self.meta.dns_qtype = Some(dns::qtype_name(ty));
                }
                if m.response {
                    if !self.dns_response_seen {
                        self.meta.dns_rcode = Some(dns::rcode_name(m.rcode));
                    }
                    self.dns_response_seen = true;
                }
            }
            Err(_) => self.error(),
        }
        if self.dns_response_seen && self.meta.dns_query.is_some() {
            self.finish();
        }
    }

    fn on_quic(&mut self, from_client: bool, payload: &[u8]) {
        // Both directions are tried: the capture may start with a server
        // packet. Server Initials fail authentication under client keys, so
        // only client-direction failures count as parse errors.
        let q = self.quic.get_or_insert_with(Box::default);
        let r = q.on_datagram(payload);
        if r.is_err() && from_client {
            self.error();
        }
        let q = self.quic.as_deref();
        if let Some(ch) = q.and_then(|q| q.hello.clone()) {
            self.apply_client_hello(&ch, 'q');
            self.finish();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_over_tcp_segmented() {
        let rec = tls::tests::sample_client_hello_record();
        let mut st = AppState::new(6, 50000, 443);
        assert_eq!(st.meta().service, "tls");
        assert!(!st.meta().service_from_payload);
        for chunk in rec.chunks(7) {
            st.on_payload(true, chunk);
        }
        let m = st.meta();
        assert!(m.service_from_payload);
        assert_eq!(m.server_name.as_deref(), Some("example.com"));
        assert_eq!(m.alpn.as_deref(), Some("h2,http/1.1"));
        assert_eq!(m.tls_version.as_deref(), Some("TLSv1.3"));
        assert_eq!(
            m.ja3.as_deref(),
            Some("771,4865-4866-49199,0-10-11-13-16-43,29-23,0")
        );
        assert_eq!(m.ja3_hash.as_deref().map(str::len), Some(32));
        assert!(
            m.ja4
                .as_deref()
                .is_some_and(|j| j.starts_with("t13d0306h2_"))
        );
        assert_eq!(m.parse_errors, 0);
        assert!(!st.done(), "waits for the ServerHello");
    }

    #[test]
    fn garbage_after_tls_start_counts_an_error() {
        let mut st = AppState::new(6, 50000, 443);
        st.on_payload(true, &[22, 3, 1, 0, 5, 9, 9, 9, 9, 9, 23, 3, 3, 0, 1, 0]);
        assert_eq!(st.meta().parse_errors, 1);
        assert!(st.meta().ja3.is_none());
    }

    #[test]
    fn http_flow() {
        let mut st = AppState::new(6, 40000, 8080);
        st.on_payload(true, &http::tests::REQUEST[..20]);
        st.on_payload(true, &http::tests::REQUEST[20..]);
        st.on_payload(false, http::tests::RESPONSE);
        assert!(st.done());
        let m = st.meta();
        assert_eq!(m.http_method.as_deref(), Some("GET"));
        assert_eq!(m.http_host.as_deref(), Some("www.example.org"));
        assert_eq!(m.http_user_agent.as_deref(), Some("curl/8.5.0"));
        assert_eq!(
            m.http_content_type.as_deref(),
            Some("text/html; charset=UTF-8")
        );
        assert_eq!(m.http_status, Some(200));
    }

    #[test]
    fn dns_flow() {
        let mut st = AppState::new(17, 53000, 53);
        st.on_payload(true, dns::tests::QUERY);
        assert!(!st.done());
        st.on_payload(false, dns::tests::RESPONSE);
        assert!(st.done());
        let m = st.meta();
        assert_eq!(m.service, "dns");
        assert_eq!(m.dns_query.as_deref(), Some("www.example.com"));
        assert_eq!(m.dns_qtype.as_deref(), Some("A"));
        assert_eq!(m.dns_rcode.as_deref(), Some("NXDOMAIN"));
    }

    #[test]
    fn ssh_flow() {
        let stream = ssh::tests::client_stream();
        let mut st = AppState::new(6, 50000, 22);
        st.on_payload(false, b"SSH-2.0-OpenSSH_8.9\r\n");
        for chunk in stream.chunks(100) {
            st.on_payload(true, chunk);
        }
        let m = st.meta();
        assert_eq!(m.ssh_server_banner.as_deref(), Some("SSH-2.0-OpenSSH_8.9"));
        assert_eq!(
            m.ssh_client_banner.as_deref(),
            Some("SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13")
        );
        let expected = ssh::hassh_hash(
            "curve25519-sha256,diffie-hellman-group14-sha256;aes128-ctr,aes256-gcm@openssh.com;hmac-sha2-256;none,zlib@openssh.com",
        );
        assert_eq!(m.hassh.as_deref(), Some(expected.as_str()));
        assert_eq!(m.hassh_server, None);
    }

    #[test]
    fn quic_flow_rfc9001() {
        let mut st = AppState::new(17, 50000, 443);
        st.on_payload(true, &quic::tests::rfc9001_client_initial());
        assert!(st.done());
        let m = st.meta();
        assert_eq!(m.service, "quic");
        assert_eq!(m.quic_version.as_deref(), Some("v1"));
        assert_eq!(m.server_name.as_deref(), Some("example.com"));
        assert!(m.ja4.as_deref().is_some_and(|j| j.starts_with("q13d")));
    }

    #[test]
    fn unknown_payload_keeps_port_guess_and_stops() {
        let mut st = AppState::new(17, 40000, 123);
        for _ in 0..UDP_DECIDE_PACKETS {
            assert!(!st.done());
            st.on_payload(true, &[0x23; 48]);
        }
        assert!(st.done());
        assert_eq!(st.meta().service, "ntp");
        assert!(!st.meta().service_from_payload);
        let mut st = AppState::new(6, 40000, 40001);
        for _ in 0..MAX_PAYLOAD_PACKETS {
            assert!(!st.done());
            st.on_payload(true, b"hello");
        }
        assert!(st.done());
        assert_eq!(st.meta().service, "");
    }

    #[test]
    fn starttls_is_found_after_plaintext() {
        let mut st = AppState::new(6, 40000, 25);
        st.on_payload(false, b"220 mx.example.org ESMTP\r\n");
        st.on_payload(true, b"STARTTLS\r\n");
        st.on_payload(false, b"220 2.0.0 Ready to start TLS\r\n");
        st.on_payload(true, &tls::tests::sample_client_hello_record());
        assert_eq!(st.meta().service, "tls");
        assert_eq!(st.meta().server_name.as_deref(), Some("example.com"));
    }

    /// Deterministic mutation run over every protocol's sample messages: no
    /// panic, and the string invariants hold (the fuzz target explores further).
    #[test]
    fn mutated_samples_never_panic() {
        let samples: Vec<(u8, u16, u16, Vec<u8>)> = vec![
            (6, 50000, 443, tls::tests::sample_client_hello_record()),
            (6, 50000, 80, http::tests::REQUEST.to_vec()),
            (6, 50000, 22, ssh::tests::client_stream()),
            (17, 50000, 53, dns::tests::RESPONSE.to_vec()),
            (17, 50000, 443, quic::tests::rfc9001_client_initial()),
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            // xorshift64*: a fixed sequence, so failures reproduce.
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            x.wrapping_mul(0x2545_f491_4f6c_dd1d)
        };
        for (proto, sp, dp, sample) in &samples {
            for _ in 0..300 {
                let mut m = sample.clone();
                for _ in 0..(next() % 8 + 1) {
                    let i = (next() as usize) % m.len();
                    match next() % 3 {
                        0 => m[i] = next() as u8,
                        1 => m.truncate(i.max(1)),
                        _ => m.insert(i, next() as u8),
                    }
                }
                let mut st = AppState::new(*proto, *sp, *dp);
                let cut = (next() as usize) % m.len();
                st.on_payload(true, &m[..cut]);
                st.on_payload(true, &m[cut..]);
                st.on_payload(false, &m);
                let meta = st.meta();
                for v in [
                    &meta.server_name,
                    &meta.alpn,
                    &meta.dns_query,
                    &meta.http_host,
                ]
                .into_iter()
                .flatten()
                {
                    assert!(v.len() <= MAX_TEXT && v.bytes().all(|b| (0x20..=0x7e).contains(&b)));
                }
            }
        }
    }

    #[test]
    fn bounded_buffer_on_endless_handshake() {
        let mut st = AppState::new(6, 50000, 443);
        // A record header announcing a huge handshake message, then filler.
        st.on_payload(true, &[22, 3, 1, 0x40, 0x00, 1, 0xff, 0xff, 0xff]);
        for _ in 0..40 {
            st.on_payload(true, &[0u8; 1400]);
        }
        assert!(st.done());
        assert!(st.meta().parse_errors >= 1);
    }
}
