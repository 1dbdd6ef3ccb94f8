//! The server side of a hijack: parse the request head, decide — in one function,
//! [`decide`] — whether the application gets to see it, and encode the answers (the `101` that
//! precedes a hijack, the `200` that opens a tunnel, a plain response, a rejection).

use super::authority::parse_authority;
use super::client::parse_length;
use super::error::ProtoError;
use super::message::header_values;
use super::message::{Header, RequestHead, encode_fields, has_token, header_list, own_headers};
use super::text::{Decimal, join, quoted, quoted_list};
use super::validate;
use super::websocket;
use alloc::{borrow::ToOwned, string::String, vec, vec::Vec};

/// The answer to a head that could not be parsed (RFC 9112: 400 and close).
pub const BAD_REQUEST: &[u8] =
    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
/// The interim answer sent before a switch to a client that asked `Expect: 100-continue`.
pub const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";
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
    switch_bytes(protocol, offered, &[], headers)
}

/// [`encode_switch`] with fields the component itself adds (`owned`, after `Upgrade`).
fn switch_bytes(
    protocol: &str,
    offered: &[String],
    owned: &[Header],
    headers: &[Header],
) -> Result<Vec<u8>, ProtoError> {
    validate::protocol(protocol)?;
    if !offered.iter().any(|p| p.eq_ignore_ascii_case(protocol)) {
        return Err(ProtoError::invalid(join(&[
            "protocol ",
            &quoted(protocol),
            " was not offered by the client (offered: ",
            &quoted_list(offered),
            ")",
        ])));
    }
    validate::headers(headers, validate::SWITCH_OWNED)?;
    let mut out = Vec::with_capacity(96);
    out.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ");
    out.extend_from_slice(protocol.as_bytes());
    out.extend_from_slice(b"\r\n");
    encode_fields(&mut out, owned);
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
        return Err(ProtoError::invalid(join(&[
            "status ",
            Decimal::new(status.into()).as_str(),
            " is not a final status (200..=599; a 101 is `hijack`)",
        ])));
    }
    validate::reason(reason)?;
    validate::headers(headers, validate::RESPONSE_OWNED)?;
    let mut out = Vec::with_capacity(96 + body.len());
    for part in [
        b"HTTP/1.1 ",
        Decimal::new(status.into()).as_bytes(),
        b" ",
        reason.as_bytes(),
        b"\r\n",
    ] {
        out.extend_from_slice(part);
    }
    encode_fields(&mut out, headers);
    for part in [
        b"Content-Length: ",
        Decimal::new(body.len() as u64).as_bytes(),
        b"\r\nConnection: close\r\n\r\n",
    ] {
        out.extend_from_slice(part);
    }
    out.extend_from_slice(body);
    Ok(out)
}

/// Transfer codings a server may meet in a request (RFC 9112 §7, the IANA registry); anything
/// else is not understood.
const KNOWN_CODINGS: &[&str] = &[
    "chunked",
    "gzip",
    "x-gzip",
    "deflate",
    "compress",
    "x-compress",
];

/// What a server does with a complete request head, before the application sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// A well-formed request: the application decides, with what it may switch to.
    Offer(Offer),
    /// A request the application never sees: answer [`Reject::answer`], then close.
    Reject(Reject),
}

/// What a well-formed request lets the application do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Offer {
    /// The protocols offered in `Upgrade`, in the client's order (see [`upgrade_protocols`]).
    pub protocols: Vec<String>,
    /// The authority of a `CONNECT` request (RFC 9110 §9.3.6): a tunnel may be opened.
    pub connect: Option<String>,
    /// The client sent `Expect: 100-continue`: a switch is preceded by `100 Continue`.
    pub expect_continue: bool,
    /// The validated `Sec-WebSocket-Key`, when `websocket` is offered.
    pub websocket_key: Option<Vec<u8>>,
}

/// Why a request is refused before the application sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reject {
    /// `400 Bad Request`; the text says which rule (for logs).
    BadRequest(&'static str),
    /// `501 Not Implemented`: a transfer coding this server does not understand.
    NotImplemented(&'static str),
    /// `417 Expectation Failed`: an `Expect` other than `100-continue`.
    ExpectationFailed,
    /// `426 Upgrade Required` with `Sec-WebSocket-Version: 13`: another WebSocket version.
    WebSocketVersion,
}

impl Reject {
    /// The whole answer, ending the connection.
    pub fn answer(self) -> &'static [u8] {
        match self {
            Self::BadRequest(_) => BAD_REQUEST,
            Self::NotImplemented(_) => {
                b"HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            }
            Self::ExpectationFailed => {
                b"HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            }
            Self::WebSocketVersion => {
                b"HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
                  Content-Length: 0\r\nConnection: close\r\n\r\n"
            }
        }
    }

    /// Why, in a few words.
    pub fn reason(self) -> &'static str {
        match self {
            Self::BadRequest(why) | Self::NotImplemented(why) => why,
            Self::ExpectationFailed => "an expectation other than 100-continue",
            Self::WebSocketVersion => "a WebSocket version other than 13",
        }
    }
}

/// The server's rules for a complete request head, all in one place. The application only
/// sees requests that pass; the others get [`Reject::answer`] and the connection is closed.
///
/// - RFC 9112 §3.2: an HTTP/1.1 request with no `Host`, or more than one → 400.
/// - RFC 9112 §6.1: `Transfer-Encoding` in HTTP/1.0 is faulty framing, and together with
///   `Content-Length` it is the smuggling shape → 400; a transfer coding the server does not
///   understand → 501; `chunked` anywhere but last, or not last at all → 400 (§6.3).
/// - RFC 9112 §6.3, RFC 9110 §8.6: every `Content-Length` (as lines or as a list) must be
///   plain digits that fit in 64 bits, and all must agree → otherwise 400
///   (GHSA-f3pg-qwvg-p99c: no `+`, no spaces, no sign).
/// - RFC 9110 §10.1.1: `Expect: 100-continue` in HTTP/1.1 is honoured before a switch; in
///   HTTP/1.0 it is ignored; any other expectation → 417.
/// - RFC 9110 §9.3.6: `CONNECT` needs an authority-form target with a port → otherwise 400.
/// - RFC 9110 §7.8: protocols are offered only by HTTP/1.1 with `Connection: upgrade`.
/// - RFC 6455 §4.2.1: an offered `websocket` needs `GET`, one `Sec-WebSocket-Key` that is
///   base64 of 16 bytes, and `Sec-WebSocket-Version` → otherwise 400; a version other than
///   13 → 426 naming 13 (§4.4).
///
/// A body framed by `Content-Length` or `chunked` is never parsed here: its bytes stay in
/// what is handed over, in order (Go's Hijacker semantics), and no second request is read.
pub fn decide(head: &RequestHead) -> Decision {
    match offer(head) {
        Ok(offer) => Decision::Offer(offer),
        Err(reject) => Decision::Reject(reject),
    }
}

fn offer(head: &RequestHead) -> Result<Offer, Reject> {
    use Reject::BadRequest;
    let http11 = head.version >= 1;
    if http11 && header_values(&head.headers, "host").count() != 1 {
        return Err(BadRequest("HTTP/1.1 needs exactly one Host"));
    }
    framing(head)?;
    let mut offer = Offer {
        protocols: upgrade_protocols(head),
        ..Offer::default()
    };
    let mut expectations = header_values(&head.headers, "expect").peekable();
    if expectations.peek().is_some() && http11 {
        if !expectations.all(|v| v.trim_ascii().eq_ignore_ascii_case(b"100-continue")) {
            return Err(Reject::ExpectationFailed);
        }
        offer.expect_continue = true;
    }
    if head.method == "CONNECT" {
        parse_authority(&head.target).map_err(|_| BadRequest("CONNECT needs host:port"))?;
        offer.connect = Some(head.target.clone());
        offer.protocols.clear();
    }
    if offer.protocols.iter().any(|p| websocket::is_websocket(p)) {
        if head.method != "GET" {
            return Err(BadRequest("a WebSocket handshake must be GET"));
        }
        let mut versions = header_list(&head.headers, "sec-websocket-version");
        match (versions.next(), versions.next()) {
            (Some(v), None) if v == websocket::VERSION.as_bytes() => {}
            (None, _) => return Err(BadRequest("no Sec-WebSocket-Version")),
            _ => return Err(Reject::WebSocketVersion),
        }
        let mut keys = header_values(&head.headers, "sec-websocket-key");
        match (keys.next(), keys.next()) {
            (Some(key), None) if websocket::is_valid_key(key) => {
                offer.websocket_key = Some(key.to_vec());
            }
            _ => return Err(BadRequest("Sec-WebSocket-Key is not base64 of 16 bytes")),
        }
    }
    Ok(offer)
}

/// The framing rules of RFC 9112 §6.1 and §6.3.
fn framing(head: &RequestHead) -> Result<(), Reject> {
    use Reject::BadRequest;
    let has_te = header_values(&head.headers, "transfer-encoding")
        .next()
        .is_some();
    let lengths: Vec<&[u8]> = header_values(&head.headers, "content-length").collect();
    if has_te {
        if head.version < 1 {
            return Err(BadRequest("Transfer-Encoding in HTTP/1.0"));
        }
        if !lengths.is_empty() {
            return Err(BadRequest("Content-Length with Transfer-Encoding"));
        }
        let codings: Vec<&[u8]> = header_list(&head.headers, "transfer-encoding").collect();
        let known = |c: &[u8]| {
            KNOWN_CODINGS
                .iter()
                .any(|k| c.eq_ignore_ascii_case(k.as_bytes()))
        };
        if !codings.iter().all(|c| known(c)) {
            return Err(Reject::NotImplemented(
                "a transfer coding this server does not know",
            ));
        }
        let chunked = |c: &[u8]| c.eq_ignore_ascii_case(b"chunked");
        let once = codings.iter().filter(|c| chunked(c)).count() == 1;
        if !once || !codings.last().is_some_and(|c| chunked(c)) {
            return Err(BadRequest(
                "chunked must be the final transfer coding, once",
            ));
        }
    }
    let mut agreed = None;
    for line in lengths {
        for element in line.split(|&b| b == b',') {
            let n = core::str::from_utf8(element.trim_ascii())
                .ok()
                .and_then(parse_length)
                .ok_or(BadRequest("Content-Length is not plain digits"))?;
            if agreed.replace(n).is_some_and(|m| m != n) {
                return Err(BadRequest("Content-Length values differ"));
            }
        }
    }
    Ok(())
}

impl Offer {
    /// The answer that switches to `protocol`: `100 Continue` first when the client asked
    /// for it, then the `101` of [`encode_switch`], with `Sec-WebSocket-Accept` for
    /// `websocket` (RFC 6455 §4.2.2).
    pub fn switch(&self, protocol: &str, headers: &[Header]) -> Result<Vec<u8>, ProtoError> {
        if self.connect.is_some() {
            return Err(ProtoError::invalid(
                "a CONNECT request is answered with a tunnel, not a switch",
            ));
        }
        let mut owned = Vec::new();
        if websocket::is_websocket(protocol)
            && let Some(key) = &self.websocket_key
        {
            owned.push(Header::new(
                "Sec-WebSocket-Accept",
                websocket::accept(key).into_bytes(),
            ));
        }
        let switch = switch_bytes(protocol, &self.protocols, &owned, headers)?;
        Ok(self.after_continue(switch))
    }

    /// The answer that opens a tunnel for a `CONNECT` request: `200 Connection Established`
    /// with the caller's fields and no `Content-Length` or `Transfer-Encoding` (RFC 9110
    /// §9.3.6), `100 Continue` first when the client asked for it.
    pub fn tunnel(&self, headers: &[Header]) -> Result<Vec<u8>, ProtoError> {
        if self.connect.is_none() {
            return Err(ProtoError::invalid(
                "only a CONNECT request can be answered with a tunnel",
            ));
        }
        validate::headers(headers, validate::TUNNEL_OWNED)?;
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(b"HTTP/1.1 200 Connection Established\r\n");
        encode_fields(&mut out, headers);
        out.extend_from_slice(b"\r\n");
        Ok(self.after_continue(out))
    }

    fn after_continue(&self, answer: Vec<u8>) -> Vec<u8> {
        if self.expect_continue {
            [CONTINUE, &answer].concat()
        } else {
            answer
        }
    }
}

/// The answer to a request head that could not be read: `431` when it was too large or
/// carried too many fields, `400` for anything else wrong with it.
pub fn answer_for(e: &ProtoError) -> &'static [u8] {
    match e {
        ProtoError::HeadTooLarge | ProtoError::TooManyHeaders => HEAD_TOO_LARGE,
        _ => BAD_REQUEST,
    }
}

/// A server's answer is HTTP/1.1 whatever the request's version (RFC 9110 §6.2): an answer
/// head that names another is refused rather than silently rewritten.
pub fn check_answer_version(version: u8) -> Result<(), ProtoError> {
    if version == 1 {
        return Ok(());
    }
    Err(ProtoError::invalid(
        "a response's version must be 1: the server answers HTTP/1.1",
    ))
}
