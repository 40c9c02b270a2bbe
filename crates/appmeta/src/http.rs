//! HTTP/1.x request and response heads, parsed with `httparse`.
//!
//! Invariant: at most [`MAX_HEADERS`] headers are read per head (more is a
//! parse failure); the head must fit in the caller's bounded buffer.

use crate::error::ParseError;

/// Most headers parsed in one request or response head.
const MAX_HEADERS: usize = 64;

/// Fields kept from a request head.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Request {
    /// Method token.
    pub method: Vec<u8>,
    /// Host header value.
    pub host: Option<Vec<u8>>,
    /// User-Agent header value.
    pub user_agent: Option<Vec<u8>>,
    /// Content-Type header value.
    pub content_type: Option<Vec<u8>>,
}

/// Fields kept from a response head.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Response {
    /// Status code.
    pub status: u16,
    /// Content-Type header value.
    pub content_type: Option<Vec<u8>>,
}

/// Methods that mark a client payload as HTTP/1 (followed by a space).
const METHODS: [&[u8]; 9] = [
    b"GET ",
    b"POST ",
    b"HEAD ",
    b"PUT ",
    b"DELETE ",
    b"OPTIONS ",
    b"CONNECT ",
    b"PATCH ",
    b"TRACE ",
];

/// True when `d` starts with an HTTP/1 request method.
pub(crate) fn looks_like_request(d: &[u8]) -> bool {
    METHODS.iter().any(|m| d.starts_with(m))
}

/// True when `d` starts with an HTTP/1 status line.
pub(crate) fn looks_like_response(d: &[u8]) -> bool {
    d.starts_with(b"HTTP/1.")
}

fn header<'a>(headers: &[httparse::Header<'a>], name: &str) -> Option<Vec<u8>> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value.to_vec())
}

/// Parse a request head; `Ok(None)` when more bytes are needed.
pub(crate) fn parse_request(d: &[u8]) -> Result<Option<Request>, ParseError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(d) {
        Ok(httparse::Status::Complete(_)) => Ok(Some(Request {
            method: req.method.unwrap_or("").as_bytes().to_vec(),
            host: header(req.headers, "host"),
            user_agent: header(req.headers, "user-agent"),
            content_type: header(req.headers, "content-type"),
        })),
        Ok(httparse::Status::Partial) => Ok(None),
        Err(_) => Err(ParseError::Http("malformed request head")),
    }
}

/// Parse a response head; `Ok(None)` when more bytes are needed.
pub(crate) fn parse_response(d: &[u8]) -> Result<Option<Response>, ParseError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    match resp.parse(d) {
        Ok(httparse::Status::Complete(_)) => Ok(Some(Response {
            status: resp.code.unwrap_or(0),
            content_type: header(resp.headers, "content-type"),
        })),
        Ok(httparse::Status::Partial) => Ok(None),
        Err(_) => Err(ParseError::Http("malformed response head")),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const REQUEST: &[u8] = b"GET /index.html HTTP/1.1\r\nHost: www.example.org\r\n\
User-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n";
    pub(crate) const RESPONSE: &[u8] =
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=UTF-8\r\n\
Content-Length: 5\r\n\r\nhello";

    #[test]
    fn request_and_response() {
        assert!(looks_like_request(REQUEST));
        let r = parse_request(REQUEST).unwrap().unwrap();
        assert_eq!(r.method, b"GET");
        assert_eq!(r.host.as_deref(), Some(&b"www.example.org"[..]));
        assert_eq!(r.user_agent.as_deref(), Some(&b"curl/8.5.0"[..]));
        let s = parse_response(RESPONSE).unwrap().unwrap();
        assert_eq!(s.status, 200);
        assert_eq!(
            s.content_type.as_deref(),
            Some(&b"text/html; charset=UTF-8"[..])
        );
    }

    #[test]
    fn partial_and_garbage() {
        assert_eq!(parse_request(&REQUEST[..30]).unwrap(), None);
        assert!(parse_request(b"GET /\x00 HTTP/1.1\r\n\r\n").is_err());
    }
}
