//! The server side of a hijack: parse the request head, list the protocols it offers, and
//! encode the answers (the `101` that precedes a hijack, a plain response, a rejection).

use super::error::ProtoError;
use super::message::{Header, RequestHead, encode_fields, has_token, header_list, own_headers};
use super::validate;

/// The answer to a head that could not be parsed (RFC 9112: 400 and close).
pub const BAD_REQUEST: &[u8] =
    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
/// The answer to a head over the byte or field cap (RFC 6585 §5).
pub const HEAD_TOO_LARGE: &[u8] = b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

/// Parse a complete request head (`head` ends with its blank line).
pub fn parse_request(head: &[u8], max_headers: usize) -> Result<RequestHead, ProtoError> {
    let mut headers = vec![httparse::EMPTY_HEADER; max_headers];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(head).map_err(ProtoError::from_httparse)? {
        httparse::Status::Complete(_) => {}
        httparse::Status::Partial => return Err(ProtoError::Malformed("incomplete head")),
    }
    Ok(RequestHead {
        method: req.method.unwrap_or_default().to_owned(),
        target: req.path.unwrap_or_default().to_owned(),
        version: req.version.unwrap_or_default(),
        headers: own_headers(req.headers),
    })
}

/// The protocols a request offers, in its order: the elements of `Upgrade` when the request
/// is HTTP/1.1 and `Connection` carries `upgrade`; none otherwise (RFC 9110 §7.8: a server
/// MUST ignore `Upgrade` in HTTP/1.0, and `Upgrade` is a connection option).
pub fn upgrade_protocols(head: &RequestHead) -> Vec<String> {
    if head.version < 1 || !has_token(&head.headers, "connection", "upgrade") {
        return Vec::new();
    }
    header_list(&head.headers, "upgrade")
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect()
}

/// The `101 Switching Protocols` answer to a request that offered `offered`, switching to
/// `protocol` (which must be one of them, compared case-insensitively), with extra fields.
pub fn encode_switch(
    protocol: &str,
    offered: &[String],
    headers: &[Header],
) -> Result<Vec<u8>, ProtoError> {
    validate::protocol(protocol)?;
    if !offered.iter().any(|p| p.eq_ignore_ascii_case(protocol)) {
        return Err(ProtoError::invalid(format!(
            "protocol {protocol:?} was not offered by the client (offered: {offered:?})"
        )));
    }
    validate::headers(headers, validate::SWITCH_OWNED)?;
    let mut out = Vec::with_capacity(96);
    out.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ");
    out.extend_from_slice(protocol.as_bytes());
    out.extend_from_slice(b"\r\n");
    encode_fields(&mut out, headers);
    out.extend_from_slice(b"\r\n");
    Ok(out)
}

/// A final answer without a switch: status line, the caller's fields, `Content-Length`,
/// `Connection: close`, the body. The status must be 200..=599.
pub fn encode_response(
    status: u16,
    reason: &str,
    headers: &[Header],
    body: &[u8],
) -> Result<Vec<u8>, ProtoError> {
    if !(200..=599).contains(&status) {
        return Err(ProtoError::invalid(format!(
            "status {status} is not a final status (200..=599; a 101 is `hijack`)"
        )));
    }
    validate::reason(reason)?;
    validate::headers(headers, validate::RESPONSE_OWNED)?;
    let mut out = Vec::with_capacity(96 + body.len());
    out.extend_from_slice(format!("HTTP/1.1 {status} {reason}\r\n").as_bytes());
    encode_fields(&mut out, headers);
    out.extend_from_slice(
        format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(body);
    Ok(out)
}
