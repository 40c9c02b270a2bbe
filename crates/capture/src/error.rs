//! Errors (fatal, returned by `open`) and warnings (non-fatal, collected while reading).
//!
//! Invariant: a [`CaptureError`] always names the input it concerns, and a
//! [`Warning`] always names its source and, for damage, the byte offset.

use std::fmt;
use std::io;

/// A fatal problem opening an input: nothing can be read from it.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The operating system refused to open, map or read the input.
    #[error("{path}: {source}")]
    Io {
        /// Input name (path or `<stdin>`).
        path: String,
        /// Underlying I/O error.
        #[source]
        source: io::Error,
    },
    /// The input does not start with a pcap, pcapng or gzip magic number.
    #[error("{path}: not a capture file ({detail})")]
    NotACapture {
        /// Input name (path or `<stdin>`).
        path: String,
        /// What was found instead (first bytes, or "empty file").
        detail: String,
    },
    /// The magic number is right but the file header is damaged or truncated.
    #[error("{path}: bad capture header: {detail}")]
    BadHeader {
        /// Input name.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// A directory was given but holds no capture file.
    #[error("{path}: directory contains no capture files")]
    EmptyDirectory {
        /// Directory path.
        path: String,
    },
    /// No input was given at all.
    #[error("no input given")]
    NoInput,
}

/// What a [`Warning`] is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WarningKind {
    /// The input ends (or becomes unreadable) inside a record: reading of this
    /// source stopped at `offset`.
    Truncated {
        /// Byte offset of the damaged record (of the decompressed stream for gzip inputs).
        offset: u64,
        /// Packets delivered from this source before the damage.
        packets_before: u64,
        /// Why the record is unusable.
        reason: String,
    },
    /// One pcapng block could not be decoded and was skipped; reading continues after it.
    CorruptBlock {
        /// Byte offset of the block.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A file found while walking a directory was not a readable capture and was skipped.
    Skipped {
        /// Why it was skipped.
        reason: String,
    },
    /// Further warnings for this source were suppressed (counts remain in the stats).
    Suppressed,
}

/// A non-fatal problem found while reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Source name (path or `<stdin>`).
    pub source_name: String,
    /// True if offsets refer to the decompressed stream of a gzip input.
    pub decompressed: bool,
    /// What happened.
    pub kind: WarningKind,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let of = if self.decompressed {
            " of the decompressed stream"
        } else {
            ""
        };
        match &self.kind {
            WarningKind::Truncated {
                offset,
                packets_before,
                reason,
            } => write!(
                f,
                "{}: truncated record at byte offset {offset}{of} ({reason}); {packets_before} packets read before it",
                self.source_name
            ),
            WarningKind::CorruptBlock { offset, reason } => write!(
                f,
                "{}: corrupt block skipped at byte offset {offset}{of} ({reason})",
                self.source_name
            ),
            WarningKind::Skipped { reason } => {
                write!(f, "{}: skipped ({reason})", self.source_name)
            }
            WarningKind::Suppressed => write!(
                f,
                "{}: too many warnings, further ones suppressed (see stats)",
                self.source_name
            ),
        }
    }
}
