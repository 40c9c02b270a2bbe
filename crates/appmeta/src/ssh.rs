//! SSH identification banners and HASSH / HASSHServer from the first
//! KEXINIT (RFC 4253 §4.2, §7.1).
//!
//! Why not a crate: the only SSH wire parser (`ssh-parser`) has not been
//! released since 2021 and the needed part is a line and one binary
//! packet. Bounds: banner lines ≤ 255 bytes (RFC 4253), at most
//! [`MAX_PRE_LINES`] non-banner lines before it, and a KEXINIT packet no
//! longer than the caller's buffer.

use crate::error::ParseError;
use crate::text::md5_hex;

/// Longest identification line (RFC 4253 §4.2, CR LF included).
const MAX_LINE: usize = 255;
/// Other lines a server may send before its banner that are skipped.
const MAX_PRE_LINES: usize = 8;
/// SSH_MSG_KEXINIT.
const MSG_KEXINIT: u8 = 20;

/// True when `d` starts with an SSH identification string.
pub(crate) fn looks_like_ssh(d: &[u8]) -> bool {
    d.starts_with(b"SSH-")
}

/// Find the `SSH-` identification line. Returns the line (without CR LF)
/// and the offset just past it, or `None` when more bytes are needed.
pub(crate) fn banner(d: &[u8]) -> Result<Option<(&[u8], usize)>, ParseError> {
    let mut start = 0usize;
    for _ in 0..=MAX_PRE_LINES {
        let rest = d.get(start..).unwrap_or(&[]);
        let Some(nl) = rest.iter().take(MAX_LINE).position(|&b| b == b'\n') else {
            return if rest.len() >= MAX_LINE {
                Err(ParseError::Ssh("line longer than 255 bytes"))
            } else {
                Ok(None)
            };
        };
        let line = rest.get(..nl).unwrap_or(&[]);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.starts_with(b"SSH-") {
            return Ok(Some((line, start + nl + 1)));
        }
        start += nl + 1;
    }
    Err(ParseError::Ssh("no identification line"))
}

/// Parse the binary packet at the start of `d` as a KEXINIT and return its
/// HASSH string for the given side (`client` = client-to-server lists).
/// `Ok(None)` when the packet is not complete yet.
pub(crate) fn kexinit_hassh(d: &[u8], client: bool) -> Result<Option<String>, ParseError> {
    let [l0, l1, l2, l3, pad, body @ ..] = d else {
        return Ok(None);
    };
    let plen = u32::from_be_bytes([*l0, *l1, *l2, *l3]) as usize;
    if !(5..=35_000).contains(&plen) {
        return Err(ParseError::Ssh("bad packet length"));
    }
    let Some(packet) = body.get(..plen - 1) else {
        return Ok(None);
    };
    let payload_len = (plen - 1)
        .checked_sub(usize::from(*pad))
        .ok_or(ParseError::Ssh("bad padding length"))?;
    let payload = packet
        .get(..payload_len)
        .ok_or(ParseError::Ssh("bad padding length"))?;
    let [MSG_KEXINIT, rest @ ..] = payload else {
        return Err(ParseError::Ssh("first packet is not KEXINIT"));
    };
    let mut pos = rest.get(16..).ok_or(ParseError::Ssh("truncated KEXINIT"))?;
    let mut lists: [&[u8]; 8] = [&[]; 8];
    for slot in &mut lists {
        let [a, b, c, d, tail @ ..] = pos else {
            return Err(ParseError::Ssh("truncated name-list"));
        };
        let n = u32::from_be_bytes([*a, *b, *c, *d]) as usize;
        *slot = tail
            .get(..n)
            .ok_or(ParseError::Ssh("truncated name-list"))?;
        pos = tail.get(n..).unwrap_or(&[]);
    }
    let [
        kex,
        _hostkey,
        enc_cs,
        enc_sc,
        mac_cs,
        mac_sc,
        cmp_cs,
        cmp_sc,
    ] = lists;
    let (enc, mac, cmp) = if client {
        (enc_cs, mac_cs, cmp_cs)
    } else {
        (enc_sc, mac_sc, cmp_sc)
    };
    let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    Ok(Some(format!("{};{};{};{}", s(kex), s(enc), s(mac), s(cmp))))
}

/// MD5 of a HASSH string.
pub(crate) fn hassh_hash(s: &str) -> String {
    md5_hex(s)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Client banner followed by a KEXINIT with short algorithm lists.
    pub(crate) fn client_stream() -> Vec<u8> {
        let mut v = b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n".to_vec();
        let mut payload = vec![MSG_KEXINIT];
        payload.extend_from_slice(&[7; 16]);
        let lists: [&[u8]; 10] = [
            b"curve25519-sha256,diffie-hellman-group14-sha256",
            b"ssh-ed25519",
            b"aes128-ctr,aes256-gcm@openssh.com",
            b"aes128-ctr",
            b"hmac-sha2-256",
            b"hmac-sha2-512",
            b"none,zlib@openssh.com",
            b"none",
            b"",
            b"",
        ];
        for l in lists {
            payload.extend_from_slice(&(l.len() as u32).to_be_bytes());
            payload.extend_from_slice(l);
        }
        payload.extend_from_slice(&[0, 0, 0, 0, 0]);
        let pad = 4u8;
        v.extend_from_slice(&((payload.len() + 1 + usize::from(pad)) as u32).to_be_bytes());
        v.push(pad);
        v.extend_from_slice(&payload);
        v.extend_from_slice(&[0; 4]);
        v
    }

    #[test]
    fn banner_and_hassh() {
        let s = client_stream();
        let (line, end) = banner(&s).unwrap().unwrap();
        assert_eq!(line, b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13");
        let c = kexinit_hassh(&s[end..], true).unwrap().unwrap();
        assert_eq!(
            c,
            "curve25519-sha256,diffie-hellman-group14-sha256;aes128-ctr,aes256-gcm@openssh.com;hmac-sha2-256;none,zlib@openssh.com"
        );
        let srv = kexinit_hassh(&s[end..], false).unwrap().unwrap();
        assert_eq!(
            srv,
            "curve25519-sha256,diffie-hellman-group14-sha256;aes128-ctr;hmac-sha2-512;none"
        );
        assert_eq!(hassh_hash(&c).len(), 32);
    }

    #[test]
    fn partial_and_bad() {
        let s = client_stream();
        let (_, end) = banner(&s).unwrap().unwrap();
        for cut in end..s.len() - 4 {
            assert_eq!(
                kexinit_hassh(&s[end..cut], true).unwrap(),
                None,
                "cut {cut}"
            );
        }
        assert!(banner(&[b'x'; 300]).is_err());
        assert_eq!(banner(b"SSH-2.0-partial").unwrap(), None);
        assert!(kexinit_hassh(&[0xff, 0xff, 0xff, 0xff, 0], true).is_err());
    }
}
