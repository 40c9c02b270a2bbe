//! Application payloads with real wire formats: HTTP/1.1, TLS 1.3 ClientHello and
//! server flight, SSH banners and binary packets, DNS queries/answers, NTP.
//!
//! Invariant: every payload is a well-formed message of its protocol (lengths
//! consistent), so application parsers can be tested on them.

use crate::rng::Rng;

/// Browser-like user agents.
const USER_AGENTS: [&str; 4] = [
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "curl/8.5.0",
    "Wget/1.21.4",
];

const PATHS: [&str; 6] = [
    "/",
    "/index.html",
    "/api/v1/status",
    "/static/app.js",
    "/images/logo.png",
    "/news/today",
];

/// An HTTP/1.1 GET request.
pub(crate) fn http_request(rng: &mut Rng, host: &str) -> Vec<u8> {
    let path = rng.pick(&PATHS);
    let ua = rng.pick(&USER_AGENTS);
    format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {ua}\r\nAccept: */*\r\nAccept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n\r\n"
    )
    .into_bytes()
}

/// An HTTP/1.1 200 response with a `body_len`-byte HTML body.
pub(crate) fn http_response(rng: &mut Rng, unix_s: i64, body_len: u32) -> Vec<u8> {
    let date = http_date(unix_s);
    let mut out = format!(
        "HTTP/1.1 200 OK\r\nDate: {date}\r\nServer: nginx/1.24.0\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {body_len}\r\nConnection: keep-alive\r\n\r\n"
    )
    .into_bytes();
    const WORDS: [&str; 12] = [
        "network ",
        "traffic ",
        "<p>",
        "</p>\n",
        "flow ",
        "packet ",
        "analysis ",
        "sample ",
        "<div>",
        "</div>\n",
        "data ",
        "lens ",
    ];
    let start = out.len();
    while out.len() - start < body_len as usize {
        out.extend_from_slice(rng.pick(&WORDS).as_bytes());
    }
    out.truncate(start + body_len as usize);
    out
}

/// RFC 7231 IMF-fixdate for a Unix time (UTC).
fn http_date(unix_s: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = unix_s.div_euclid(86_400);
    let secs = unix_s.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[days.rem_euclid(7) as usize],
        d,
        MONTHS[(m - 1) as usize],
        y,
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

fn push_u16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_be_bytes());
}

fn push_u24(v: &mut Vec<u8>, x: usize) {
    v.extend_from_slice(&(x as u32).to_be_bytes()[1..]);
}

/// Append a TLS extension.
fn ext(v: &mut Vec<u8>, typ: u16, body: &[u8]) {
    push_u16(v, typ);
    push_u16(v, body.len() as u16);
    v.extend_from_slice(body);
}

/// A TLS 1.3 ClientHello record with SNI `host` and ALPN `h2`, `http/1.1`.
pub(crate) fn tls_client_hello(rng: &mut Rng, host: &str) -> Vec<u8> {
    let mut body = Vec::with_capacity(512);
    push_u16(&mut body, 0x0303); // legacy_version TLS 1.2
    let mut random = [0u8; 32];
    rng.fill(&mut random);
    body.extend_from_slice(&random);
    body.push(32); // legacy_session_id
    let mut sid = [0u8; 32];
    rng.fill(&mut sid);
    body.extend_from_slice(&sid);
    let suites: [u16; 9] = [
        0x1301, 0x1303, 0x1302, 0xc02b, 0xc02f, 0xcca9, 0xcca8, 0xc02c, 0xc030,
    ];
    push_u16(&mut body, (suites.len() * 2) as u16);
    for s in suites {
        push_u16(&mut body, s);
    }
    body.extend_from_slice(&[1, 0]); // compression: null
    let mut exts = Vec::new();
    // server_name
    let mut sni = Vec::new();
    push_u16(&mut sni, (host.len() + 3) as u16);
    sni.push(0); // host_name
    push_u16(&mut sni, host.len() as u16);
    sni.extend_from_slice(host.as_bytes());
    ext(&mut exts, 0x0000, &sni);
    ext(&mut exts, 0x0017, &[]); // extended_master_secret
    ext(&mut exts, 0xff01, &[0]); // renegotiation_info
    ext(
        &mut exts,
        0x000a,
        &[0, 6, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18],
    ); // groups
    ext(&mut exts, 0x000b, &[1, 0]); // ec_point_formats
    // ALPN
    let mut alpn = Vec::new();
    let protos: [&[u8]; 2] = [b"h2", b"http/1.1"];
    let list_len: usize = protos.iter().map(|p| p.len() + 1).sum();
    push_u16(&mut alpn, list_len as u16);
    for p in protos {
        alpn.push(p.len() as u8);
        alpn.extend_from_slice(p);
    }
    ext(&mut exts, 0x0010, &alpn);
    ext(
        &mut exts,
        0x000d,
        &[0, 8, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01, 0x05, 0x03],
    ); // signature_algorithms
    // key_share: x25519
    let mut ks = vec![0, 36, 0x00, 0x1d, 0, 32];
    let mut key = [0u8; 32];
    rng.fill(&mut key);
    ks.extend_from_slice(&key);
    ext(&mut exts, 0x0033, &ks);
    ext(&mut exts, 0x002d, &[1, 1]); // psk_key_exchange_modes
    ext(&mut exts, 0x002b, &[4, 0x03, 0x04, 0x03, 0x03]); // supported_versions
    push_u16(&mut body, exts.len() as u16);
    body.extend_from_slice(&exts);
    handshake_record(1, &body, 0x0301)
}

/// Wrap a handshake message in a TLS record.
fn handshake_record(msg_type: u8, body: &[u8], record_version: u16) -> Vec<u8> {
    let mut hs = vec![msg_type];
    push_u24(&mut hs, body.len());
    hs.extend_from_slice(body);
    let mut rec = vec![0x16];
    push_u16(&mut rec, record_version);
    push_u16(&mut rec, hs.len() as u16);
    rec.extend_from_slice(&hs);
    rec
}

/// ServerHello + ChangeCipherSpec + encrypted handshake (`enc_len` bytes of application-data records).
pub(crate) fn tls_server_flight(rng: &mut Rng, enc_len: u32) -> Vec<u8> {
    let mut body = Vec::new();
    push_u16(&mut body, 0x0303);
    let mut random = [0u8; 32];
    rng.fill(&mut random);
    body.extend_from_slice(&random);
    body.push(32);
    let mut sid = [0u8; 32];
    rng.fill(&mut sid);
    body.extend_from_slice(&sid);
    push_u16(&mut body, 0x1301);
    body.push(0);
    let mut exts = Vec::new();
    ext(&mut exts, 0x002b, &[0x03, 0x04]);
    let mut ks = vec![0x00, 0x1d, 0, 32];
    let mut key = [0u8; 32];
    rng.fill(&mut key);
    ks.extend_from_slice(&key);
    ext(&mut exts, 0x0033, &ks);
    push_u16(&mut body, exts.len() as u16);
    body.extend_from_slice(&exts);
    let mut out = handshake_record(2, &body, 0x0303);
    out.extend_from_slice(&[0x14, 0x03, 0x03, 0x00, 0x01, 0x01]);
    out.extend(tls_app_data(rng, enc_len));
    out
}

/// Client ChangeCipherSpec + Finished (encrypted).
pub(crate) fn tls_client_finish(rng: &mut Rng) -> Vec<u8> {
    let mut out = vec![0x14, 0x03, 0x03, 0x00, 0x01, 0x01];
    out.extend(tls_app_data(rng, 53));
    out
}

/// `len` bytes of opaque application data in TLS records (≤ 16 KiB each).
pub(crate) fn tls_app_data(rng: &mut Rng, len: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(len as usize + 64);
    let mut left = len as usize;
    while left > 0 {
        let n = left.min(16_384);
        out.extend_from_slice(&[0x17, 0x03, 0x03]);
        push_u16(&mut out, n as u16);
        let start = out.len();
        out.resize(start + n, 0);
        rng.fill(&mut out[start..]);
        left -= n;
    }
    out
}

/// SSH identification strings (client, server).
pub(crate) const SSH_CLIENT_BANNER: &[u8] = b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5\r\n";
/// Server identification string.
pub(crate) const SSH_SERVER_BANNER: &[u8] = b"SSH-2.0-OpenSSH_8.9p1 Debian-3\r\n";

/// An SSH binary packet (RFC 4253 framing) with random payload, `len` bytes total.
pub(crate) fn ssh_packet(rng: &mut Rng, len: u32) -> Vec<u8> {
    let len = len.max(16) as usize;
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&((len - 4) as u32).to_be_bytes());
    out.push(4); // padding length
    out.resize(len, 0);
    rng.fill(&mut out[5..]);
    out
}

/// Encode a DNS name (labels); names here are ASCII and short.
fn dns_name(out: &mut Vec<u8>, name: &str) {
    for label in name.split('.') {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
}

/// A recursive DNS query for `name` of type `qtype` (1 = A, 28 = AAAA, 255 = ANY).
pub(crate) fn dns_query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut v = Vec::with_capacity(64);
    push_u16(&mut v, id);
    push_u16(&mut v, 0x0100); // RD
    push_u16(&mut v, 1);
    push_u16(&mut v, 0);
    push_u16(&mut v, 0);
    push_u16(&mut v, 0);
    dns_name(&mut v, name);
    push_u16(&mut v, qtype);
    push_u16(&mut v, 1);
    v
}

/// The answer to [`dns_query`], with one record per address (4 or 16 bytes each).
pub(crate) fn dns_response(
    id: u16,
    name: &str,
    qtype: u16,
    addrs: &[Vec<u8>],
    ttl: u32,
) -> Vec<u8> {
    let mut v = Vec::with_capacity(128);
    push_u16(&mut v, id);
    push_u16(&mut v, 0x8180); // response, RD, RA, NOERROR
    push_u16(&mut v, 1);
    push_u16(&mut v, addrs.len() as u16);
    push_u16(&mut v, 0);
    push_u16(&mut v, 0);
    dns_name(&mut v, name);
    push_u16(&mut v, qtype);
    push_u16(&mut v, 1);
    for a in addrs {
        push_u16(&mut v, 0xc00c); // pointer to the question name
        push_u16(&mut v, if a.len() == 16 { 28 } else { 1 });
        push_u16(&mut v, 1);
        v.extend_from_slice(&ttl.to_be_bytes());
        push_u16(&mut v, a.len() as u16);
        v.extend_from_slice(a);
    }
    v
}

/// A large DNS answer (amplification): `n_txt` TXT records of 255 bytes.
pub(crate) fn dns_amplified_response(rng: &mut Rng, id: u16, name: &str, n_txt: u16) -> Vec<u8> {
    let mut v = Vec::with_capacity(1500);
    push_u16(&mut v, id);
    push_u16(&mut v, 0x8180);
    push_u16(&mut v, 1);
    push_u16(&mut v, n_txt);
    push_u16(&mut v, 0);
    push_u16(&mut v, 0);
    dns_name(&mut v, name);
    push_u16(&mut v, 255);
    push_u16(&mut v, 1);
    for _ in 0..n_txt {
        push_u16(&mut v, 0xc00c);
        push_u16(&mut v, 16); // TXT
        push_u16(&mut v, 1);
        v.extend_from_slice(&3600u32.to_be_bytes());
        push_u16(&mut v, 256);
        v.push(255);
        let start = v.len();
        v.resize(start + 255, 0);
        for b in &mut v[start..] {
            *b = b'a' + rng.below(26) as u8;
        }
    }
    v
}

/// An NTPv4 packet (mode 3 = client, 4 = server) with the given transmit time.
pub(crate) fn ntp_packet(mode: u8, unix_ns: i64, origin: Option<i64>) -> Vec<u8> {
    let mut v = vec![0u8; 48];
    v[0] = (4 << 3) | mode; // LI 0, VN 4
    if mode == 4 {
        v[1] = 2; // stratum
        v[2] = 6; // poll
        v[3] = 0xe9; // precision -23
        v[12..16].copy_from_slice(&[0xc0, 0x00, 0x02, 0x7b]); // reference id
        let t = ntp_ts(unix_ns);
        v[16..24].copy_from_slice(&ntp_ts(unix_ns - 40_000_000_000));
        if let Some(o) = origin {
            v[24..32].copy_from_slice(&ntp_ts(o));
        }
        v[32..40].copy_from_slice(&t);
        v[40..48].copy_from_slice(&t);
    } else {
        v[2] = 6;
        v[3] = 0xe9;
        v[40..48].copy_from_slice(&ntp_ts(unix_ns));
    }
    v
}

/// 64-bit NTP timestamp (seconds since 1900, 32-bit fraction).
fn ntp_ts(unix_ns: i64) -> [u8; 8] {
    let secs = unix_ns.div_euclid(1_000_000_000) + 2_208_988_800;
    let frac = ((unix_ns.rem_euclid(1_000_000_000) as u128) << 32) / 1_000_000_000;
    let mut b = [0u8; 8];
    b[..4].copy_from_slice(&(secs as u32).to_be_bytes());
    b[4..].copy_from_slice(&(frac as u32).to_be_bytes());
    b
}

/// Linux `ping` payload: 8-byte timestamp then bytes 0x10, 0x11, ...
pub(crate) fn ping_payload(unix_ns: i64) -> Vec<u8> {
    let mut v = Vec::with_capacity(56);
    v.extend_from_slice(&(unix_ns.div_euclid(1_000_000_000) as u32).to_le_bytes());
    v.extend_from_slice(&((unix_ns.rem_euclid(1_000_000_000) / 1000) as u32).to_le_bytes());
    v.extend((0x10u8..0x10 + 48).collect::<Vec<u8>>());
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_date_known_value() {
        assert_eq!(http_date(1_772_442_000), "Mon, 02 Mar 2026 09:00:00 GMT");
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    }

    #[test]
    fn client_hello_lengths_are_consistent() {
        let mut rng = Rng::new(1);
        let ch = tls_client_hello(&mut rng, "www.example.org");
        let rec_len = u16::from_be_bytes([ch[3], ch[4]]) as usize;
        assert_eq!(rec_len + 5, ch.len());
        let hs_len = u32::from_be_bytes([0, ch[6], ch[7], ch[8]]) as usize;
        assert_eq!(hs_len + 4, rec_len);
        assert!(ch.windows(15).any(|w| w == b"www.example.org"));
        assert!(ch.windows(8).any(|w| w == b"http/1.1"));
    }

    #[test]
    fn dns_roundtrip_shape() {
        let q = dns_query(7, "a.example", 1);
        assert_eq!(q.len(), 12 + 11 + 4);
        let r = dns_response(7, "a.example", 1, &[vec![1, 2, 3, 4]], 60);
        assert_eq!(r.len(), q.len() + 16);
    }
}
