//! The client side of a hijack: encode the upgrade (or `CONNECT`) request, parse the
//! response, and decide — in one function, [`judge`], built on [`classify`] — whether the
//! response switched protocols.

use super::error::ProtoError;
use super::message::{
    Header, ResponseHead, encode_fields, has_token, header_list, header_values, own_headers,
};
use super::text::{Decimal, join};
use super::{authority, validate, websocket};
use alloc::{borrow::ToOwned, string::String, vec, vec::Vec};

/// Most informational (1xx other than 101) responses skipped before the final one (as Go).
pub const MAX_INFORMATIONAL: usize = 5;
/// Most bytes of a refused response's body kept for the caller.
pub const MAX_REFUSAL_BODY: usize = 4096;
/// Longest wait, in milliseconds, for the body of a refusal (it is only shown to the caller).
pub const REFUSAL_BODY_MS: u64 = 2_000;

/// The request a client sends to ask for a switch.
#[derive(Clone, Copy, Debug)]
pub struct UpgradeRequest<'a> {
    /// Method token.
    pub method: &'a str,
    /// Request target, e.g. `/containers/x/attach`.
    pub target: &'a str,
    /// The protocol asked for in `Upgrade`.
    pub upgrade: &'a str,
    /// Extra header fields (no framing headers).
    pub headers: &'a [Header],
    /// A body framed by `Content-Length`, or none.
    pub body: Option<&'a [u8]>,
}

/// The method that asks a proxy for a tunnel (RFC 9110 §9.3.6).
pub const CONNECT: &str = "CONNECT";

impl UpgradeRequest<'_> {
    /// Whether this asks a proxy for a tunnel: `CONNECT` with the tunnel's `host:port` as
    /// the target and no protocol to upgrade to.
    pub fn is_connect(&self) -> bool {
        self.method == CONNECT
    }
}

/// Validate every caller value, then encode the request: start line, `Host`, `Connection:
/// Upgrade`, `Upgrade`, the caller's fields, `Content-Length` when there is a body, the body.
///
/// `Host` is `authority` unless the caller gives one `Host` field of its own (Go's
/// `req.Host`, curl's `-H Host:`: a name-based virtual host reached at another address); it
/// must be a `host[:port]` authority, and it takes `Host`'s place, first.
///
/// A `CONNECT` ([`UpgradeRequest::is_connect`]) is sent as `CONNECT host:port HTTP/1.1` with
/// `Host: host:port`, no `Connection` or `Upgrade`, and no body.
pub fn encode_request(authority: &str, req: &UpgradeRequest<'_>) -> Result<Vec<u8>, ProtoError> {
    encode_request_with(authority, req, &[])
}

/// [`encode_request`] with fields the component itself adds (`owned`, after `Upgrade`), such
/// as the WebSocket key of [`websocket_fields`]. A `websocket` upgrade must be `GET`
/// (RFC 6455 §4.1).
pub fn encode_request_with(
    authority: &str,
    req: &UpgradeRequest<'_>,
    owned: &[Header],
) -> Result<Vec<u8>, ProtoError> {
    authority::parse_authority(authority)?;
    validate::method(req.method)?;
    validate::headers(req.headers, validate::REQUEST_OWNED)?;
    let caller_host = host_field(req.headers)?;
    let fields = req
        .headers
        .iter()
        .filter(|h| !h.name.eq_ignore_ascii_case("host"));
    let mut out = Vec::with_capacity(128 + req.body.map_or(0, <[u8]>::len));
    if req.is_connect() {
        authority::parse_authority(req.target)?;
        if !req.upgrade.is_empty() || req.body.is_some() {
            return Err(ProtoError::invalid(
                "a CONNECT request has no protocol to upgrade to and no body",
            ));
        }
        for part in [
            CONNECT,
            " ",
            req.target,
            " HTTP/1.1\r\nHost: ",
            caller_host.unwrap_or(req.target),
            "\r\n",
        ] {
            out.extend_from_slice(part.as_bytes());
        }
        encode_fields(&mut out, owned);
        encode_fields(&mut out, fields);
        out.extend_from_slice(b"\r\n");
        return Ok(out);
    }
    validate::target(req.target)?;
    validate::protocol(req.upgrade)?;
    if websocket::is_websocket(req.upgrade) && req.method != "GET" {
        return Err(ProtoError::invalid(join(&[
            "a WebSocket handshake is GET, not ",
            req.method,
        ])));
    }
    let body = req.body.unwrap_or_default();
    for part in [
        req.method,
        " ",
        req.target,
        " HTTP/1.1\r\nHost: ",
        caller_host.unwrap_or(authority),
    ] {
        out.extend_from_slice(part.as_bytes());
    }
    out.extend_from_slice(b"\r\nConnection: Upgrade\r\nUpgrade: ");
    out.extend_from_slice(req.upgrade.as_bytes());
    out.extend_from_slice(b"\r\n");
    encode_fields(&mut out, owned);
    encode_fields(&mut out, fields);
    if req.body.is_some() {
        out.extend_from_slice(b"Content-Length: ");
        out.extend_from_slice(Decimal::new(body.len() as u64).as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    Ok(out)
}

/// The caller's own `Host`, if it gave one: at most one, a `host[:port]` authority.
fn host_field(headers: &[Header]) -> Result<Option<&str>, ProtoError> {
    let mut hosts = headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("host"));
    let Some(host) = hosts.next() else {
        return Ok(None);
    };
    if hosts.next().is_some() {
        return Err(ProtoError::invalid("at most one Host field"));
    }
    let value = core::str::from_utf8(&host.value)
        .ok()
        .filter(|v| authority::parse_authority_or(v, 80).is_ok())
        .ok_or_else(|| ProtoError::invalid("the Host field is not a host[:port] authority"))?;
    Ok(Some(value))
}

/// Parse a complete response head (`head` ends with its blank line, see
/// [`HeadScanner`](super::head::HeadScanner)).
pub fn parse_response(head: &[u8], max_headers: usize) -> Result<ResponseHead, ProtoError> {
    let mut headers = vec![httparse::EMPTY_HEADER; max_headers];
    let mut res = httparse::Response::new(&mut headers);
    match res.parse(head).map_err(ProtoError::from_httparse)? {
        httparse::Status::Complete(_) => {}
        httparse::Status::Partial => return Err(ProtoError::Malformed("incomplete head")),
    }
    Ok(ResponseHead {
        version: res.version.unwrap_or(1),
        status: res.code.unwrap_or_default(),
        reason: res.reason.unwrap_or_default().to_owned(),
        headers: own_headers(res.headers),
    })
}

/// How much of a refused response's body to read, from its framing (RFC 9112 §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyPlan {
    /// No body (1xx, 204, 304, `Content-Length: 0`).
    None,
    /// Exactly this many bytes (capped by the caller).
    Length(u64),
    /// The body ends when the peer closes.
    UntilClose,
    /// Chunked or unparseable framing: keep only what has already arrived.
    AsBuffered,
}

/// What a response means for a client that asked to switch to `protocol`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A valid switch: the bytes after the head belong to the new protocol.
    Switched,
    /// An informational response to skip; the final one follows.
    Informational,
    /// A `101` that does not name `protocol` in `Upgrade`, or lacks `Connection: upgrade`.
    InvalidSwitch,
    /// A final response that refuses the switch, with how to read its body.
    Refused(BodyPlan),
}

/// The upgrade rules, all in one place.
///
/// - RFC 9110 §15.2.2 / §7.8: `101` switches only if its `Upgrade` names the protocol the
///   client asked for and nothing else (case-insensitively: a server MUST NOT switch to a
///   protocol the client did not offer, and the client offered exactly one), and
///   the sender of `Upgrade` MUST send `Connection: upgrade` (checked as Go's
///   `isProtocolSwitch` and HAProxy do).
/// - RFC 9110 §15.2: other 1xx are interim; the client skips them (bounded by the caller,
///   [`MAX_INFORMATIONAL`]).
/// - Anything else is final and refuses the switch: never a hijack (CVE-2018-1002105).
pub fn classify(head: &ResponseHead, protocol: &str) -> Verdict {
    match head.status {
        101 => {
            let mut switched_to = header_list(&head.headers, "upgrade").peekable();
            let named = switched_to.peek().is_some()
                && switched_to.all(|p| p.eq_ignore_ascii_case(protocol.as_bytes()));
            if named && has_token(&head.headers, "connection", "upgrade") {
                Verdict::Switched
            } else {
                Verdict::InvalidSwitch
            }
        }
        100..=199 => Verdict::Informational,
        _ => Verdict::Refused(body_plan(head)),
    }
}

fn body_plan(head: &ResponseHead) -> BodyPlan {
    if matches!(head.status, 204 | 304) {
        return BodyPlan::None;
    }
    if header_values(&head.headers, "transfer-encoding")
        .next()
        .is_some()
    {
        return BodyPlan::AsBuffered;
    }
    let mut lengths = header_values(&head.headers, "content-length");
    match (lengths.next(), lengths.next()) {
        (None, _) => BodyPlan::UntilClose,
        (Some(v), None) => match core::str::from_utf8(v).ok().and_then(parse_length) {
            Some(0) => BodyPlan::None,
            Some(n) => BodyPlan::Length(n),
            None => BodyPlan::AsBuffered,
        },
        (Some(_), Some(_)) => BodyPlan::AsBuffered,
    }
}

/// A `Content-Length` value: ASCII digits only (no sign, no spaces; GHSA-f3pg-qwvg-p99c).
pub fn parse_length(v: &str) -> Option<u64> {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

/// The fields a WebSocket client adds for a `key` (RFC 6455 §4.1).
pub fn websocket_fields(key: &str) -> [Header; 2] {
    [
        Header::new("Sec-WebSocket-Key", key),
        Header::new("Sec-WebSocket-Version", websocket::VERSION),
    ]
}

/// What the client asked for, and so what a response must show to switch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ask<'a> {
    /// An upgrade to `protocol`.
    Upgrade {
        /// The protocol named in the request's `Upgrade`.
        protocol: &'a str,
        /// For `websocket`: the `Sec-WebSocket-Accept` the key calls for.
        websocket_accept: Option<String>,
        /// Hijack a `200` too (Docker daemons before API 1.24 answered `200` and a raw
        /// stream); refused by default.
        allow_200: bool,
    },
    /// A `CONNECT` tunnel.
    Connect,
}

/// The client's decision on a response head, all in one place: [`classify`]'s rules, plus
///
/// - RFC 9110 §9.3.6: any `2xx` to `CONNECT` opens the tunnel, its `Content-Length` and
///   `Transfer-Encoding` ignored; a `101` to `CONNECT` is not a switch; other 1xx are interim.
/// - RFC 6455 §4.1: a `101` to `websocket` must carry exactly the `Sec-WebSocket-Accept` the
///   key calls for; a missing or wrong one is not a switch.
/// - Legacy Docker (API < 1.24): a `200` is hijacked only when the caller allowed it.
pub fn judge(head: &ResponseHead, ask: &Ask<'_>) -> Verdict {
    match ask {
        Ask::Connect => match head.status {
            200..=299 => Verdict::Switched,
            101 => Verdict::InvalidSwitch,
            100..=199 => Verdict::Informational,
            _ => Verdict::Refused(body_plan(head)),
        },
        Ask::Upgrade {
            protocol,
            websocket_accept,
            allow_200,
        } => match classify(head, protocol) {
            Verdict::Switched => match websocket_accept {
                Some(expected) => {
                    let mut accepts = header_values(&head.headers, "sec-websocket-accept");
                    match (accepts.next(), accepts.next()) {
                        (Some(got), None) if got == expected.as_bytes() => Verdict::Switched,
                        _ => Verdict::InvalidSwitch,
                    }
                }
                None => Verdict::Switched,
            },
            Verdict::Refused(_) if *allow_200 && head.status == 200 => Verdict::Switched,
            other => other,
        },
    }
}

/// How many body bytes of a refusal to keep: what its framing says, capped at
/// [`MAX_REFUSAL_BODY`]; `arrived` bytes came with the head.
pub fn refusal_body_len(plan: BodyPlan, arrived: usize) -> usize {
    match plan {
        BodyPlan::None => 0,
        BodyPlan::AsBuffered => arrived,
        BodyPlan::Length(n) => usize::try_from(n).unwrap_or(usize::MAX),
        BodyPlan::UntilClose => usize::MAX,
    }
    .min(MAX_REFUSAL_BODY)
}
