//! Bounds-checked fixed-size header access.
//!
//! Every decoder takes a fixed-size array view of its header with [`hdr`];
//! indexing such an array with constant indices cannot panic (the compiler
//! rejects an out-of-range constant index), so after one length check all
//! field reads are panic-free.

/// The `N` bytes of `buf` starting at `off`, or `None` when they are not all there.
#[inline(always)]
pub(crate) fn hdr<const N: usize>(buf: &[u8], off: usize) -> Option<&[u8; N]> {
    buf.get(off..)?.first_chunk::<N>()
}

/// Big-endian u16 from two bytes.
#[inline(always)]
pub(crate) fn be16(a: u8, b: u8) -> u16 {
    u16::from_be_bytes([a, b])
}

/// Big-endian u32 from four bytes.
#[inline(always)]
pub(crate) fn be32(a: u8, b: u8, c: u8, d: u8) -> u32 {
    u32::from_be_bytes([a, b, c, d])
}

/// `buf[..end]`, or all of `buf` when `end` is past its end.
#[inline(always)]
pub(crate) fn upto(buf: &[u8], end: usize) -> &[u8] {
    buf.get(..end).unwrap_or(buf)
}
