//! Parse failures. They are counted per flow in
//! [`AppMeta::parse_errors`](crate::AppMeta::parse_errors) and never stop
//! the caller; the enum exists so that tests and fuzzing can see *why* a
//! payload was rejected.

/// Why an application payload could not be inspected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Malformed or unsupported TLS handshake.
    #[error("TLS: {0}")]
    Tls(&'static str),
    /// Malformed QUIC Initial packet (header, decryption or frames).
    #[error("QUIC: {0}")]
    Quic(&'static str),
    /// Malformed DNS message.
    #[error("DNS: {0}")]
    Dns(&'static str),
    /// Malformed HTTP/1 request or response head.
    #[error("HTTP: {0}")]
    Http(&'static str),
    /// Malformed SSH banner or KEXINIT.
    #[error("SSH: {0}")]
    Ssh(&'static str),
}
