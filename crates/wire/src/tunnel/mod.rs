//! Tunnel decoders. etherparse has no GRE, ERSPAN, VXLAN, Geneve, GTP-U,
//! Teredo or AYIYA support, so each header is decoded here in a few lines.
//!
//! Invariants: every decoder validates its header before touching the
//! summary's tunnel fields, sets `tunnel`/`tunnel_id` for the tunnel it
//! enters, and then decodes the payload. Decoders are called through
//! [`crate::Ctx::try_inner`], so any failure restores the outer packet.
//! IP-in-IP (protocols 4/41) is handled directly in `transport.rs`.

pub(crate) mod ayiya;
pub(crate) mod geneve;
pub(crate) mod gre;
pub(crate) mod gtp;
pub(crate) mod teredo;
pub(crate) mod vxlan;

use crate::error::{DissectError, Layer};

/// Shorthand for a truncated tunnel header.
pub(crate) const TRUNC: DissectError = DissectError::Truncated(Layer::Tunnel);
/// Shorthand for a malformed tunnel header.
pub(crate) const BAD: DissectError = DissectError::Malformed(Layer::Tunnel);
