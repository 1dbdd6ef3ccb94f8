//! The parts of an HTTP/1.1 message the core works with: header fields, request and response
//! heads, the list-field helpers every rule uses (RFC 9110 §5.6.1), and the encoding of fields.
//! Plain data: no parsing decisions live here.

use alloc::{string::String, vec::Vec};

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
    /// The minor version of the status line: 1 for HTTP/1.1, 0 for HTTP/1.0.
    pub version: u8,
    /// The status code.
    pub status: u16,
    /// The reason phrase.
    pub reason: String,
    /// The header fields, in order.
    pub headers: Vec<Header>,
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
pub(crate) fn own_headers(headers: &[httparse::Header<'_>]) -> Vec<Header> {
    headers
        .iter()
        .map(|h| Header::new(h.name, h.value.to_vec()))
        .collect()
}

/// `Name: value\r\n` for each field; the caller has validated them ([`super::validate`]).
pub(crate) fn encode_fields<'a>(out: &mut Vec<u8>, headers: impl IntoIterator<Item = &'a Header>) {
    for h in headers {
        out.extend_from_slice(h.name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(&h.value);
        out.extend_from_slice(b"\r\n");
    }
}
