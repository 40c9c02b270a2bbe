//! QUIC client Initial decryption (RFC 9001 §5, RFC 9369 for v2) and
//! ClientHello reassembly from CRYPTO frames.
//!
//! Why this is our own code: the only crate that parses QUIC Initials as a
//! passive observer (`quic-parser`) is very young; QUIC stacks (quinn)
//! expose no parser API. The cryptography itself is `ring`'s (HKDF,
//! AES-128-GCM, AES header protection); only the packet framing and the
//! key schedule labels are written here.
//!
//! Scope and invariants:
//! - Versions: 1 and draft-33/34 (RFC 9001 salt), 2 (RFC 9369 salt and
//!   labels), drafts 29–32 and 23–28 and mvfst draft-27 (their public
//!   salts). Other versions (e.g. gQUIC `Q0xx`/`T05x`) are recognised by
//!   name only.
//! - Initial keys come from the Destination Connection ID of the client's
//!   first Initial (RFC 9001 §5.2), remembered once a packet decrypts with
//!   it; a later Initial that does not decrypt with it is retried with its
//!   own DCID (the client switches DCID and keys after a Retry), and that
//!   DCID is remembered on success. Packets from the server fail
//!   authentication under client keys and are skipped.
//! - CRYPTO frames from any number of Initial packets are reassembled by
//!   offset into a buffer of at most [`MAX_CRYPTO`] bytes with at most
//!   [`MAX_RANGES`] disjoint ranges; data beyond is dropped. Out-of-order
//!   frames are handled; the ClientHello is parsed as soon as its prefix is
//!   contiguous.
//! - The truncated packet number is used for the nonce (exact for the
//!   small packet numbers of a connection's first Initials).

use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey, quic::HeaderProtectionKey};
use ring::hkdf;

use crate::error::ParseError;
use crate::tls::{ClientHello, first_message_len, parse_client_hello};

/// Largest CRYPTO stream prefix reassembled (bytes).
pub const MAX_CRYPTO: usize = 16 * 1024;
/// Most disjoint CRYPTO ranges tracked at once.
const MAX_RANGES: usize = 32;
/// Largest QUIC datagram decrypted (bytes); a UDP payload cannot be larger.
const MAX_PACKET: usize = 65_535;

const SALT_V1: [u8; 20] = [
    0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad,
    0xcc, 0xbb, 0x7f, 0x0a,
];
const SALT_V2: [u8; 20] = [
    0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb,
    0xf9, 0xbd, 0x2e, 0xd9,
];
const SALT_DRAFT29: [u8; 20] = [
    0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97, 0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0,
    0x43, 0x90, 0xa8, 0x99,
];
const SALT_DRAFT23: [u8; 20] = [
    0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7, 0xd2, 0x43, 0x2b, 0xb4, 0x63, 0x65,
    0xbe, 0xf9, 0xf5, 0x02,
];

/// QUIC version 2 (RFC 9369).
const VERSION_2: u32 = 0x6b33_43cf;

/// Key schedule parameters of one QUIC version.
struct VersionParams {
    salt: &'static [u8; 20],
    v2: bool,
}

fn version_params(v: u32) -> Option<VersionParams> {
    let (salt, v2) = match v {
        0x0000_0001 | 0xff00_0021 | 0xff00_0022 => (&SALT_V1, false),
        VERSION_2 => (&SALT_V2, true),
        0xff00_001d..=0xff00_0020 => (&SALT_DRAFT29, false),
        0xff00_0017..=0xff00_001c | 0xface_b002 => (&SALT_DRAFT23, false),
        _ => return None,
    };
    Some(VersionParams { salt, v2 })
}

/// Display name of a QUIC version ("v1", "v2", "draft-29", "Q050", ...).
pub(crate) fn version_name(v: u32) -> String {
    match v {
        1 => "v1".into(),
        VERSION_2 => "v2".into(),
        0xff00_0000..=0xff00_00ff => format!("draft-{}", v & 0xff),
        0xface_b001 => "mvfst-22".into(),
        0xface_b002 => "mvfst-27".into(),
        0xface_b00e => "mvfst-exp".into(),
        _ => {
            let b = v.to_be_bytes();
            if matches!(b[0], b'Q' | b'T') && b[1..].iter().all(u8::is_ascii_digit) {
                b.iter().map(|&c| char::from(c)).collect()
            } else {
                format!("0x{v:08x}")
            }
        }
    }
}

/// True when `d` starts with a QUIC long header (form and fixed bits set)
/// carrying a non-zero version this module can name or decrypt.
pub(crate) fn looks_like_long_header(d: &[u8]) -> Option<u32> {
    let [b0, v0, v1, v2, v3, ..] = d else {
        return None;
    };
    if b0 & 0xc0 != 0xc0 {
        return None;
    }
    let v = u32::from_be_bytes([*v0, *v1, *v2, *v3]);
    let known =
        version_params(v).is_some() || version_name(v).len() == 4 || (v >> 8) == 0x00fa_ceb0;
    (v != 0 && known).then_some(v)
}

/// Reads a QUIC variable-length integer.
fn varint(d: &[u8], pos: &mut usize) -> Result<u64, ParseError> {
    let first = *d.get(*pos).ok_or(ParseError::Quic("truncated varint"))?;
    let len = 1usize << (first >> 6);
    let bytes = d
        .get(*pos..*pos + len)
        .ok_or(ParseError::Quic("truncated varint"))?;
    let mut v = u64::from(first & 0x3f);
    for &b in bytes.iter().skip(1) {
        v = (v << 8) | u64::from(b);
    }
    *pos += len;
    Ok(v)
}

/// Length hint for `ring::hkdf::Prk::expand`.
struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// TLS 1.3 HKDF-Expand-Label with an empty context (RFC 8446 §7.1).
fn expand_label(prk: &hkdf::Prk, label: &[u8], out: &mut [u8]) -> Result<(), ParseError> {
    let out_len = u16::try_from(out.len())
        .map_err(|_| ParseError::Quic("label length"))?
        .to_be_bytes();
    let label_len = u8::try_from(6 + label.len()).map_err(|_| ParseError::Quic("label length"))?;
    let info: [&[u8]; 5] = [&out_len, &[label_len], b"tls13 ", label, &[0]];
    prk.expand(&info, Len(out.len()))
        .and_then(|okm| okm.fill(out))
        .map_err(|_| ParseError::Quic("HKDF expand"))
}

/// Client Initial packet protection keys.
struct Keys {
    aead: LessSafeKey,
    iv: [u8; 12],
    hp: HeaderProtectionKey,
}

fn client_initial_keys(params: &VersionParams, dcid: &[u8]) -> Result<Keys, ParseError> {
    let initial = hkdf::Salt::new(hkdf::HKDF_SHA256, params.salt).extract(dcid);
    let mut secret = [0u8; 32];
    expand_label(&initial, b"client in", &mut secret)?;
    let client = hkdf::Prk::new_less_safe(hkdf::HKDF_SHA256, &secret);
    let (lk, li, lh): (&[u8], &[u8], &[u8]) = if params.v2 {
        (b"quicv2 key", b"quicv2 iv", b"quicv2 hp")
    } else {
        (b"quic key", b"quic iv", b"quic hp")
    };
    let mut key = [0u8; 16];
    let mut iv = [0u8; 12];
    let mut hp = [0u8; 16];
    expand_label(&client, lk, &mut key)?;
    expand_label(&client, li, &mut iv)?;
    expand_label(&client, lh, &mut hp)?;
    let aead =
        UnboundKey::new(&aead::AES_128_GCM, &key).map_err(|_| ParseError::Quic("AEAD key"))?;
    let hp = HeaderProtectionKey::new(&aead::quic::AES_128, &hp)
        .map_err(|_| ParseError::Quic("HP key"))?;
    Ok(Keys {
        aead: LessSafeKey::new(aead),
        iv,
        hp,
    })
}

/// Client-side QUIC state of one flow: CRYPTO reassembly until the
/// ClientHello is complete.
#[derive(Default)]
pub(crate) struct QuicClient {
    /// First version seen in a long header.
    pub version: Option<u32>,
    /// The parsed ClientHello, once complete.
    pub hello: Option<ClientHello>,
    /// DCID whose keys decrypted a client Initial (≤ 20 bytes).
    key_dcid: Option<Vec<u8>>,
    crypto: Vec<u8>,
    ranges: Vec<(usize, usize)>,
    scratch: Vec<u8>,
}

impl QuicClient {
    /// Process one client datagram (possibly several coalesced packets).
    pub fn on_datagram(&mut self, d: &[u8]) -> Result<(), ParseError> {
        let mut pos = 0usize;
        while self.hello.is_none() && pos < d.len() {
            let rest = d.get(pos..).unwrap_or(&[]);
            if rest.first().is_none_or(|b| b & 0x80 == 0) {
                break; // short header or padding: nothing more to learn
            }
            let used = self.on_packet(rest)?;
            pos += used.max(1);
        }
        Ok(())
    }

    /// Handle one long-header packet; returns its length in the datagram.
    fn on_packet(&mut self, d: &[u8]) -> Result<usize, ParseError> {
        let [b0, v0, v1, v2, v3, ..] = d else {
            return Err(ParseError::Quic("truncated long header"));
        };
        let version = u32::from_be_bytes([*v0, *v1, *v2, *v3]);
        if version == 0 {
            return Ok(d.len()); // version negotiation
        }
        self.version.get_or_insert(version);
        let Some(params) = version_params(version) else {
            return Ok(d.len()); // cannot decrypt this version
        };
        let ptype = (b0 >> 4) & 3;
        let (initial, retry) = if params.v2 { (1, 0) } else { (0, 3) };
        if ptype == retry {
            return Ok(d.len());
        }
        let mut pos = 5usize;
        let dcid_len = usize::from(*d.get(pos).ok_or(ParseError::Quic("truncated header"))?);
        if dcid_len > 20 {
            return Err(ParseError::Quic("connection id longer than 20"));
        }
        let dcid = d
            .get(pos + 1..pos + 1 + dcid_len)
            .ok_or(ParseError::Quic("truncated header"))?;
        pos += 1 + dcid_len;
        let scid_len = usize::from(*d.get(pos).ok_or(ParseError::Quic("truncated header"))?);
        if scid_len > 20 {
            return Err(ParseError::Quic("connection id longer than 20"));
        }
        pos += 1 + scid_len;
        if ptype == initial {
            let token_len = varint(d, &mut pos)?;
            pos = usize::try_from(token_len)
                .ok()
                .and_then(|t| pos.checked_add(t))
                .filter(|p| *p <= d.len())
                .ok_or(ParseError::Quic("truncated token"))?;
        }
        let length = varint(d, &mut pos)?;
        let end = usize::try_from(length)
            .ok()
            .and_then(|l| pos.checked_add(l))
            .filter(|e| *e <= d.len())
            .ok_or(ParseError::Quic("packet length beyond datagram"))?;
        if ptype != initial {
            return Ok(end); // 0-RTT / Handshake: not decryptable with Initial keys
        }
        let remembered = self.key_dcid.clone();
        let first = remembered.as_deref().unwrap_or(dcid);
        match self.decrypt_initial(&params, first, d, pos, end) {
            Ok(()) => {
                self.key_dcid.get_or_insert_with(|| dcid.to_vec());
            }
            Err(e) if remembered.is_some() && remembered.as_deref() != Some(dcid) => {
                self.decrypt_initial(&params, dcid, d, pos, end)
                    .map_err(|_| e)?;
                self.key_dcid = Some(dcid.to_vec());
            }
            Err(e) => return Err(e),
        }
        Ok(end)
    }

    fn decrypt_initial(
        &mut self,
        params: &VersionParams,
        dcid: &[u8],
        d: &[u8],
        pn_offset: usize,
        end: usize,
    ) -> Result<(), ParseError> {
        if end > MAX_PACKET {
            return Err(ParseError::Quic("packet too large"));
        }
        let keys = client_initial_keys(params, dcid)?;
        let sample = d
            .get(pn_offset + 4..pn_offset + 20)
            .ok_or(ParseError::Quic("packet too short for sample"))?;
        let mask = keys
            .hp
            .new_mask(sample)
            .map_err(|_| ParseError::Quic("header protection"))?;
        let b0 = d.first().ok_or(ParseError::Quic("empty packet"))? ^ (mask[0] & 0x0f);
        let pn_len = usize::from(b0 & 3) + 1;
        let payload_start = pn_offset + pn_len;
        if payload_start + 16 > end {
            return Err(ParseError::Quic("packet too short"));
        }
        // Header with protection removed is the AAD; the payload follows it.
        self.scratch.clear();
        self.scratch
            .extend_from_slice(d.get(..end).ok_or(ParseError::Quic("truncated packet"))?);
        let mut nonce = keys.iv;
        {
            let hdr = self
                .scratch
                .get_mut(..payload_start)
                .ok_or(ParseError::Quic("truncated packet"))?;
            if let Some(first) = hdr.first_mut() {
                *first = b0;
            }
            for i in 0..pn_len {
                if let (Some(b), Some(m)) = (hdr.get_mut(pn_offset + i), mask.get(1 + i)) {
                    *b ^= m;
                    if let Some(n) = nonce.get_mut(12 - pn_len + i) {
                        *n ^= *b;
                    }
                }
            }
        }
        let (hdr, payload) = self.scratch.split_at_mut(payload_start);
        let plain = keys
            .aead
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&*hdr),
                payload,
            )
            .map_err(|_| ParseError::Quic("Initial decryption failed"))?;
        let plain: Vec<u8> = plain.to_vec();
        self.read_frames(&plain)
    }

    /// Walk the frames of a decrypted Initial payload, collecting CRYPTO data.
    fn read_frames(&mut self, p: &[u8]) -> Result<(), ParseError> {
        let mut pos = 0usize;
        while pos < p.len() {
            let ty = varint(p, &mut pos)?;
            match ty {
                0x00 | 0x01 => {} // PADDING, PING
                0x02 | 0x03 => {
                    varint(p, &mut pos)?; // largest acknowledged
                    varint(p, &mut pos)?; // delay
                    let count = varint(p, &mut pos)?;
                    varint(p, &mut pos)?; // first range
                    for _ in 0..count {
                        // Each pair consumes at least two bytes, so the loop ends with the payload.
                        varint(p, &mut pos)?;
                        varint(p, &mut pos)?;
                    }
                    if ty == 0x03 {
                        for _ in 0..3 {
                            varint(p, &mut pos)?;
                        }
                    }
                }
                0x06 => {
                    let off = varint(p, &mut pos)?;
                    let len = varint(p, &mut pos)?;
                    let data = usize::try_from(len)
                        .ok()
                        .and_then(|l| p.get(pos..pos.checked_add(l)?))
                        .ok_or(ParseError::Quic("truncated CRYPTO frame"))?;
                    pos += data.len();
                    self.add_crypto(usize::try_from(off).unwrap_or(usize::MAX), data);
                }
                0x1c | 0x1d => return Ok(()), // CONNECTION_CLOSE: nothing after matters
                _ => return Err(ParseError::Quic("unexpected frame in Initial")),
            }
        }
        self.try_hello()
    }

    fn add_crypto(&mut self, off: usize, data: &[u8]) {
        if off >= MAX_CRYPTO || data.is_empty() {
            return;
        }
        let end = off.saturating_add(data.len()).min(MAX_CRYPTO);
        let Some(data) = data.get(..end - off) else {
            return;
        };
        if self.crypto.len() < end {
            self.crypto.resize(end, 0);
        }
        if let Some(dst) = self.crypto.get_mut(off..end) {
            dst.copy_from_slice(data);
        }
        // Insert and merge the range.
        if self.ranges.len() >= MAX_RANGES {
            return;
        }
        self.ranges.push((off, end));
        self.ranges.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(self.ranges.len());
        for &(s, e) in &self.ranges {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        self.ranges = merged;
    }

    fn try_hello(&mut self) -> Result<(), ParseError> {
        let contiguous = match self.ranges.first() {
            Some(&(0, e)) => e,
            _ => return Ok(()),
        };
        let Some(prefix) = self.crypto.get(..contiguous) else {
            return Ok(());
        };
        let Some(need) = first_message_len(prefix) else {
            return Ok(());
        };
        if need > MAX_CRYPTO {
            return Err(ParseError::Quic(
                "ClientHello larger than the reassembly bound",
            ));
        }
        if let Some(msg) = prefix.get(..need) {
            self.hello = Some(parse_client_hello(msg)?);
            self.crypto = Vec::new();
            self.scratch = Vec::new();
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(char::is_ascii_hexdigit).collect();
        (0..s.len() / 2)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 9001 Appendix A.2: the client's protected Initial packet, built by
    /// protecting the unprotected payload of A.2 (the CRYPTO frame holding
    /// the ClientHello of the appendix, padded to 1162 bytes) with the
    /// appendix's keys, then checked against the appendix's header and
    /// first protected bytes.
    pub(crate) fn rfc9001_client_initial() -> Vec<u8> {
        let crypto_frame = unhex(
            "060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868
             04fe3a47f06a2b69484c00000413011302010000c000000010000e00000b6578
             616d706c652e636f6dff01000100000a00080006001d00170018001000070005
             04616c706e000500050100000000003300260024001d00209370b2c9caa47fba
             baf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b000302030400
             0d0010000e0403050306030203080408050806002d00020101001c0002400100
             3900320408ffffffffffffffff05048000ffff07048000ffff08011001048000
             75300901100f088394c8f03e51570806048000ffff",
        );
        let dcid = unhex("8394c8f03e515708");
        let header = unhex("c300000001088394c8f03e5157080000449e00000002");
        let mut payload = crypto_frame;
        payload.resize(1162, 0); // PADDING frames: 1162 plaintext bytes
        let params = version_params(1).unwrap();
        let keys = client_initial_keys(&params, &dcid).unwrap();
        let mut nonce = keys.iv;
        nonce[11] ^= 2; // packet number 2
        keys.aead
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&header),
                &mut payload,
            )
            .unwrap();
        let mut pkt = header.clone();
        pkt.extend_from_slice(&payload);
        let pn_offset = header.len() - 4;
        let mask = keys
            .hp
            .new_mask(&pkt[pn_offset + 4..pn_offset + 20])
            .unwrap();
        pkt[0] ^= mask[0] & 0x0f;
        for i in 0..4 {
            pkt[pn_offset + i] ^= mask[1 + i];
        }
        pkt
    }

    #[test]
    fn rfc9001_keys_and_protected_header() {
        // RFC 9001 A.1 key derivation.
        let params = version_params(1).unwrap();
        let initial =
            hkdf::Salt::new(hkdf::HKDF_SHA256, params.salt).extract(&unhex("8394c8f03e515708"));
        let mut secret = [0u8; 32];
        expand_label(&initial, b"client in", &mut secret).unwrap();
        assert_eq!(
            secret.to_vec(),
            unhex("c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea")
        );
        let client = hkdf::Prk::new_less_safe(hkdf::HKDF_SHA256, &secret);
        let mut key = [0u8; 16];
        expand_label(&client, b"quic key", &mut key).unwrap();
        assert_eq!(key.to_vec(), unhex("1f369613dd76d5467730efcbe3b1a22d"));
        let mut iv = [0u8; 12];
        expand_label(&client, b"quic iv", &mut iv).unwrap();
        assert_eq!(iv.to_vec(), unhex("fa044b2f42a3fd3b46fb255c"));
        let mut hp = [0u8; 16];
        expand_label(&client, b"quic hp", &mut hp).unwrap();
        assert_eq!(hp.to_vec(), unhex("9f50449e04a0e810283a1e9933adedd2"));
        // RFC 9001 A.2 protected packet: header and first payload bytes.
        let pkt = rfc9001_client_initial();
        assert_eq!(pkt.len(), 1200);
        assert_eq!(
            &pkt[..22],
            &unhex("c000000001088394c8f03e5157080000449e7b9aec34")[..]
        );
        assert_eq!(&pkt[22..38], &unhex("d1b1c98dd7689fb8ec11d242b123dc9b")[..]);
    }

    #[test]
    fn rfc9001_initial_decrypts_to_client_hello() {
        let mut q = QuicClient::default();
        q.on_datagram(&rfc9001_client_initial()).unwrap();
        assert_eq!(q.version, Some(1));
        let ch = q.hello.expect("ClientHello");
        assert_eq!(ch.sni.as_deref(), Some(&b"example.com"[..]));
        assert_eq!(ch.alpn, vec![b"alpn".to_vec()]);
        assert!(ch.ja4('q').starts_with("q13d0211an_"), "{}", ch.ja4('q'));
    }

    #[test]
    fn corrupted_initial_is_an_error_not_a_panic() {
        let pkt = rfc9001_client_initial();
        for i in [0usize, 5, 6, 18, 100, 1199] {
            let mut bad = pkt.clone();
            bad[i] ^= 0x55;
            let mut q = QuicClient::default();
            let _ = q.on_datagram(&bad);
            assert!(q.hello.is_none() || i == 0);
        }
        for cut in 0..pkt.len() {
            let mut q = QuicClient::default();
            let _ = q.on_datagram(&pkt[..cut]);
            assert!(q.hello.is_none());
        }
    }

    #[test]
    fn out_of_order_crypto_ranges() {
        let mut q = QuicClient::default();
        q.add_crypto(10, &[1; 10]);
        assert_eq!(q.ranges, vec![(10, 20)]);
        q.add_crypto(0, &[2; 12]);
        assert_eq!(q.ranges, vec![(0, 20)]);
        q.add_crypto(MAX_CRYPTO - 1, &[3; 100]);
        assert_eq!(q.crypto.len(), MAX_CRYPTO);
    }

    #[test]
    fn version_names() {
        assert_eq!(version_name(1), "v1");
        assert_eq!(version_name(0xff00_001d), "draft-29");
        assert_eq!(version_name(u32::from_be_bytes(*b"Q050")), "Q050");
        assert_eq!(version_name(0x1234_5678), "0x12345678");
    }
}
