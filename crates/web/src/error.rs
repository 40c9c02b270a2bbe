//! Errors of the web dashboard.

/// What can go wrong serving the dashboard.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// A non-loopback address without a token.
    #[error(
        "refusing to listen on {0} without --token: only loopback addresses may be served without one"
    )]
    TokenRequired(std::net::SocketAddr),
    /// The token has characters or a length the server does not accept.
    #[error(
        "invalid token: use 16 to 256 characters from A-Z a-z 0-9 . _ ~ - (got {0} characters)"
    )]
    BadToken(usize),
    /// Binding or serving failed.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("server error: {0}")]
    Serve(std::io::Error),
}
