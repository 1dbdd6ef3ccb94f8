//! The sans-IO HTTP/1.1 core: everything the component knows about HTTP, and nothing about I/O.
//!
//! It is fed bytes and returns decisions plus the offset where the head ends; the bytes after
//! that offset are what the component hands over. It never touches WASI, sockets or clocks, so
//! it builds and is tested natively (unit tables, property tests over read splits, fuzzing).
//!
//! - [`HeadScanner`]: incremental head-end scanning with a byte cap.
//! - [`client`]: request encoding, response parsing, and the one function that decides
//!   whether a response switched protocols.
//! - [`server`]: request parsing, offered protocols, and the encoding of answers.
//! - [`validate`]: checks on caller input, applied before any byte is sent.
//!
//! ```
//! use wasi_hijack::proto::{HeadScanner, DEFAULT_MAX_HEAD_BYTES, DEFAULT_MAX_HEADERS};
//! use wasi_hijack::proto::client::{classify, parse_response, Verdict};
//!
//! // The 101 and the first bytes of the new protocol arrive in one read, split in two.
//! let wire = b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nhello";
//! let mut scanner = HeadScanner::new(DEFAULT_MAX_HEAD_BYTES);
//! assert_eq!(scanner.scan(&wire[..20]).unwrap(), None);
//! let end = scanner.scan(wire).unwrap().expect("complete");
//! let head = parse_response(&wire[..end], DEFAULT_MAX_HEADERS).unwrap();
//! assert_eq!(classify(&head, "tcp"), Verdict::Switched);
//! assert_eq!(&wire[end..], b"hello"); // what the component hands over as `buffered`
//! ```

mod authority;
pub mod client;
mod error;
mod head;
pub mod server;
pub mod validate;

pub use authority::{Authority, parse_authority};
pub use error::ProtoError;
pub use head::HeadScanner;

/// Default cap on the bytes of one head, status or request line included (64 KiB).
pub const DEFAULT_MAX_HEAD_BYTES: usize = 64 * 1024;
/// Default cap on the number of header fields in one head (hyper's default).
pub const DEFAULT_MAX_HEADERS: usize = 100;
/// Default deadline for a whole head, in milliseconds (hyper's header read timeout).
pub const DEFAULT_HEAD_TIMEOUT_MS: u64 = 30_000;
/// Default deadline for name lookup and connect together, in milliseconds.
pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 30_000;

/// One header field: the name as text, the value as the bytes sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The field name (a token).
    pub name: String,
    /// The field value, without surrounding whitespace.
    pub value: Vec<u8>,
}

impl Header {
    /// A header from a name and a value.
    pub fn new(name: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// The head of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestHead {
    /// The method token.
    pub method: String,
    /// The request target as sent.
    pub target: String,
    /// The minor HTTP version (1 for HTTP/1.1).
    pub version: u8,
    /// The header fields, in order.
    pub headers: Vec<Header>,
}

/// The head of a response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseHead {
    /// The status code.
    pub status: u16,
    /// The reason phrase.
    pub reason: String,
    /// The header fields, in order.
    pub headers: Vec<Header>,
}

/// Limits on reading one head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes of a head ([`DEFAULT_MAX_HEAD_BYTES`]).
    pub max_head_bytes: usize,
    /// Most header fields ([`DEFAULT_MAX_HEADERS`]).
    pub max_headers: usize,
    /// Deadline for the whole head in milliseconds ([`DEFAULT_HEAD_TIMEOUT_MS`]).
    pub head_timeout_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_head_bytes: DEFAULT_MAX_HEAD_BYTES,
            max_headers: DEFAULT_MAX_HEADERS,
            head_timeout_ms: DEFAULT_HEAD_TIMEOUT_MS,
        }
    }
}

/// The values of every field named `name` (case-insensitively), in order.
pub fn header_values<'a>(headers: &'a [Header], name: &'a str) -> impl Iterator<Item = &'a [u8]> {
    headers
        .iter()
        .filter(move |h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value.as_slice())
}

/// The comma-separated elements of every field named `name`, trimmed, empty ones skipped
/// (RFC 9110 §5.6.1 list syntax).
pub fn header_list<'a>(headers: &'a [Header], name: &'a str) -> impl Iterator<Item = &'a [u8]> {
    header_values(headers, name)
        .flat_map(|v| v.split(|&b| b == b','))
        .map(|e| e.trim_ascii())
        .filter(|e| !e.is_empty())
}

/// Whether the list field `name` holds `token` (case-insensitively).
pub fn has_token(headers: &[Header], name: &str, token: &str) -> bool {
    header_list(headers, name).any(|e| e.eq_ignore_ascii_case(token.as_bytes()))
}

/// Owned headers from httparse's borrowed ones.
fn own_headers(headers: &[httparse::Header<'_>]) -> Vec<Header> {
    headers
        .iter()
        .map(|h| Header::new(h.name, h.value.to_vec()))
        .collect()
}
