//! netlens-wire: dissection of untrusted link-layer frames.
//!
//! # Brief overview
//! [`dissect`] takes a capture link type and the captured bytes of one frame
//! and fills a reusable [`PacketSummary`] with the fields the flow meter needs
//! (addresses, ports, TCP flags, VLAN, tunnel, fragment state), or returns a
//! [`DissectError`] naming the layer and reason why no IP packet was found.
//!
//! Tunnels (GRE, ERSPAN, VXLAN, Geneve, GTP-U, IP-in-IP, Teredo, AYIYA) are
//! followed down to the innermost IP packet, which becomes the flow; when an
//! inner packet does not decode, the outer packet is reported instead.
//!
//! Invariant: no function in this crate panics or allocates on any byte
//! sequence; every read is bounds-checked once per header, and nesting is
//! bounded by [`MAX_DEPTH`].
//!
//! ```
//! use netlens_wire::{dissect, linktype, PacketSummary};
//! let mut frame = vec![0u8; 14];
//! frame[12] = 0x08; // EtherType IPv4 ...
//! let mut out = PacketSummary::default();
//! // ... but no IPv4 header follows: an error, never a panic.
//! assert!(dissect(linktype::ETHERNET, &frame, &mut out).is_err());
//! ```

#![deny(missing_docs)]

mod bytes;
pub mod error;
pub mod fast;
mod ip;
mod link;
pub mod linktype;
pub mod summary;
#[cfg(test)]
mod testutil;
mod transport;
mod tunnel;

pub use error::{DissectError, Layer};
pub use fast::{FastTuple, fast_tuple};
pub use summary::{FragInfo, OuterFragment, PacketSummary, TcpInfo, TunnelKind, tcp_flags};

/// Maximum number of nested encapsulations (tunnels, pseudowires, PPI) followed.
pub const MAX_DEPTH: u8 = 8;

/// Dissect one captured frame of the given capture link type (pcap LINKTYPE_* / DLT value) into `out`.
///
/// `out` is cleared first. On error its contents are partially filled and
/// should not be used as a flow packet.
pub fn dissect(linktype: u32, frame: &[u8], out: &mut PacketSummary) -> Result<(), DissectError> {
    out.clear();
    let mut ctx = Ctx {
        out,
        depth: 0,
        have_mac: false,
    };
    link::dissect_link(&mut ctx, linktype, frame, 0)
}

/// Mutable state threaded through the decoders of one frame.
pub(crate) struct Ctx<'s> {
    /// Summary being filled.
    pub out: &'s mut PacketSummary,
    /// Current encapsulation depth.
    pub depth: u8,
    /// The outermost Ethernet MACs have been recorded.
    pub have_mac: bool,
}

/// Result type of the internal decoders.
pub(crate) type Res = Result<(), DissectError>;

impl Ctx<'_> {
    /// Run `f` one encapsulation level deeper, failing with `TooDeep` past [`MAX_DEPTH`].
    #[inline]
    pub fn nested(&mut self, f: impl FnOnce(&mut Self) -> Res) -> Res {
        if self.depth >= MAX_DEPTH {
            return Err(DissectError::TooDeep);
        }
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }

    /// Try to decode a tunnel payload with `f`, one level deeper.
    ///
    /// The summary must already describe the outer packet completely. If `f`
    /// fails for any reason other than `TooDeep`, the outer summary is restored
    /// and the outer packet stays the flow (tunnel decoding is best effort).
    #[inline]
    pub fn try_inner(&mut self, f: impl FnOnce(&mut Self) -> Res) -> Res {
        let saved = *self.out;
        match self.nested(f) {
            Ok(()) => Ok(()),
            Err(DissectError::TooDeep) => Err(DissectError::TooDeep),
            Err(_) => {
                *self.out = saved;
                Ok(())
            }
        }
    }
}
