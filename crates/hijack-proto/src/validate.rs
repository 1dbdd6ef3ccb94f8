//! Checks on caller input. Everything the caller gives is checked here before a byte is
//! encoded, so a CR or LF in a value can never reach the wire (CVE-2019-9741, CVE-2020-26137).

use super::error::ProtoError;
use super::message::Header;
use super::text::{join, quoted};
use alloc::string::String;

/// Fields a client request may not carry from the caller: the component writes them. (`Host`
/// is the component's unless the caller gives one: see
/// [`encode_request`](crate::client::encode_request).)
pub const REQUEST_OWNED: &[&str] = &[
    "connection",
    "upgrade",
    "content-length",
    "transfer-encoding",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-accept",
];
/// Fields a `101` may not carry from the caller: the component writes them.
pub const SWITCH_OWNED: &[&str] = &[
    "connection",
    "upgrade",
    "content-length",
    "transfer-encoding",
    "sec-websocket-accept",
];
/// Fields the `200` that opens a tunnel may not carry (RFC 9110 §9.3.6: no framing).
pub const TUNNEL_OWNED: &[&str] = &[
    "connection",
    "upgrade",
    "content-length",
    "transfer-encoding",
];
/// Fields a plain response may not carry from the caller (`Upgrade` is allowed: a `426`
/// must name the protocols it wants).
pub const RESPONSE_OWNED: &[&str] = &["connection", "content-length", "transfer-encoding"];

/// `tchar` of RFC 9110 §5.6.2.
pub fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A non-empty run of `tchar`.
pub fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

/// A field value as the `http` crate accepts it: visible bytes, obs-text, SP and HTAB;
/// never CR, LF, NUL or DEL.
pub fn is_field_value(v: &[u8]) -> bool {
    v.iter().all(|&b| (b >= 0x20 && b != 0x7f) || b == b'\t')
}

/// A method token.
pub fn method(m: &str) -> Result<(), ProtoError> {
    check(is_token(m), || {
        join(&["method ", &quoted(m), " is not a token"])
    })
}

/// An origin-form (or other non-empty) target: visible ASCII only, no spaces or controls.
pub fn target(t: &str) -> Result<(), ProtoError> {
    check(
        !t.is_empty() && t.bytes().all(|b| b.is_ascii_graphic()),
        || join(&["target ", &quoted(t), " must be non-empty visible ASCII"]),
    )
}

/// A protocol for `Upgrade`: `token [ "/" token ]` (RFC 9110 §7.8).
pub fn protocol(p: &str) -> Result<(), ProtoError> {
    let ok = match p.split_once('/') {
        Some((name, version)) => is_token(name) && is_token(version),
        None => is_token(p),
    };
    check(ok, || {
        join(&["protocol ", &quoted(p), " is not token[/token]"])
    })
}

/// A reason phrase: HTAB, SP, visible bytes, obs-text.
pub fn reason(r: &str) -> Result<(), ProtoError> {
    check(is_field_value(r.as_bytes()), || {
        join(&["reason ", &quoted(r), " holds a control character"])
    })
}

/// Caller header fields: token names, clean values, none of the fields in `owned`.
pub fn headers(headers: &[Header], owned: &[&str]) -> Result<(), ProtoError> {
    for h in headers {
        check(is_token(&h.name), || {
            join(&["header name ", &quoted(&h.name), " is not a token"])
        })?;
        check(is_field_value(&h.value), || {
            join(&[
                "value of header ",
                &quoted(&h.name),
                " holds CR, LF, NUL or another control",
            ])
        })?;
        check(
            !owned.iter().any(|f| h.name.eq_ignore_ascii_case(f)),
            || join(&["header ", &quoted(&h.name), " is set by the component"]),
        )?;
    }
    Ok(())
}

fn check(ok: bool, why: impl FnOnce() -> String) -> Result<(), ProtoError> {
    if ok {
        Ok(())
    } else {
        Err(ProtoError::InvalidInput(why()))
    }
}
