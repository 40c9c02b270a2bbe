//! Bounded, sanitised text for metadata fields.
//!
//! Invariant: every string produced here is at most [`MAX_TEXT`] bytes and
//! contains only printable ASCII (0x20..=0x7e); any other byte is replaced
//! by `?`, so the output is valid in CSV/JSON and on a terminal.

/// Longest string kept for a single metadata field (bytes).
pub const MAX_TEXT: usize = 255;

/// Truncate `bytes` to `max` bytes and replace non-printable bytes by `?`.
pub(crate) fn clean_bounded(bytes: &[u8], max: usize) -> String {
    let take = bytes.get(..max).unwrap_or(bytes);
    take.iter()
        .map(|&b| {
            if (0x20..=0x7e).contains(&b) {
                char::from(b)
            } else {
                '?'
            }
        })
        .collect()
}

/// [`clean_bounded`] with the default bound [`MAX_TEXT`].
pub(crate) fn clean(bytes: &[u8]) -> String {
    clean_bounded(bytes, MAX_TEXT)
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// MD5 of `s` as 32 lower-case hex digits.
pub(crate) fn md5_hex(s: &str) -> String {
    use md5::{Digest, Md5};
    hex(&Md5::digest(s.as_bytes())[..])
}

/// First 12 hex digits of the SHA-256 of `s` (the JA4 hash form).
pub(crate) fn sha256_12(s: &str) -> String {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(s.as_bytes());
    let mut h = hex(&d[..]);
    h.truncate(12);
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_truncates_and_replaces() {
        assert_eq!(clean(b"ab\x00c\xffd"), "ab?c?d");
        let long = vec![b'x'; 1000];
        assert_eq!(clean(&long).len(), MAX_TEXT);
    }

    #[test]
    fn digests() {
        assert_eq!(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(sha256_12(""), "e3b0c44298fc");
        assert_eq!(hex(&[0x0a, 0xff]), "0aff");
    }
}
