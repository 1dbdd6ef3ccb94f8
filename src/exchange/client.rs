//! The client exchange: dial, send the upgrade request, read responses until a final one,
//! and hand over only on a validated switch.

use super::error::Error;
use super::handoff::Hijacked;
use super::read::{READ_CHUNK, blocking_read_head};
use crate::net::{self, Conn, Deadline};
use crate::proto::client::{
    Ask, BodyPlan, MAX_INFORMATIONAL, MAX_REFUSAL_BODY, UpgradeRequest, Verdict,
    encode_request_with, judge, parse_response, websocket_fields,
};
use crate::proto::{Limits, ProtoError, ResponseHead, parse_authority, websocket};

/// Longest wait for the body of a refusal (it is only shown to the caller).
const REFUSAL_BODY_MS: u64 = 2_000;

/// How to dial, beyond the request itself.
#[derive(Clone, Copy, Debug)]
pub struct DialOptions {
    /// Limits on reading the response head.
    pub limits: Limits,
    /// Deadline for name lookup and connect together.
    pub connect_timeout_ms: u64,
    /// TCP keepalive period, if any.
    pub keepalive_ms: Option<u64>,
    /// Hijack a legacy `200` to an upgrade request.
    pub allow_200: bool,
}

/// Run the client exchange against `authority`.
pub fn blocking_hijack(
    authority: &str,
    req: &UpgradeRequest<'_>,
    options: &DialOptions,
) -> Result<(ResponseHead, Hijacked), Error> {
    let limits = &options.limits;
    // Every caller value is checked before the network is touched.
    let (owned, ask) = if req.is_connect() {
        (Vec::new(), Ask::Connect)
    } else if websocket::is_websocket(req.upgrade) {
        let key = websocket::key(net::nonce16());
        let accept = websocket::accept(key.as_bytes());
        let ask = Ask::Upgrade {
            protocol: req.upgrade,
            websocket_accept: Some(accept),
            allow_200: options.allow_200,
        };
        (websocket_fields(&key).to_vec(), ask)
    } else {
        let ask = Ask::Upgrade {
            protocol: req.upgrade,
            websocket_accept: None,
            allow_200: options.allow_200,
        };
        (Vec::new(), ask)
    };
    let request = encode_request_with(authority, req, &owned)?;
    let target = parse_authority(authority)?;
    let connect_deadline = Deadline::after_ms(options.connect_timeout_ms);
    let addrs = match target.ip() {
        Some(ip) => vec![net::ip_address(ip)],
        None => net::blocking_resolve(target.host, connect_deadline)?,
    };
    let conn = net::blocking_connect(&addrs, target.port, connect_deadline)?;
    if let Some(period_ms) = options.keepalive_ms {
        conn.set_keepalive(period_ms)?;
    }

    let deadline = Deadline::after_ms(limits.head_timeout_ms);
    conn.blocking_write_all(&request, deadline)?;
    let mut buf = Vec::new();
    let mut informational = 0;
    loop {
        let end = blocking_read_head(&conn, &mut buf, limits.max_head_bytes, deadline)?;
        let head = parse_response(&buf[..end], limits.max_headers)?;
        match judge(&head, &ask) {
            Verdict::Switched => {
                let buffered = buf.split_off(end);
                return Ok((head, Hijacked { conn, buffered }));
            }
            Verdict::Informational if informational < MAX_INFORMATIONAL => {
                informational += 1;
                buf.drain(..end);
            }
            Verdict::Informational => {
                return Err(ProtoError::Malformed("too many informational responses").into());
            }
            Verdict::InvalidSwitch => return Err(Error::InvalidSwitch(head)),
            Verdict::Refused(plan) => {
                let body = blocking_refusal_body(&conn, buf.split_off(end), plan, deadline);
                return Err(Error::NotSwitched(head, body));
            }
        }
    }
}

/// The first bytes of a refusal's body, best effort: what arrived with the head, plus what
/// follows within a short wait, as the framing says, capped at [`MAX_REFUSAL_BODY`].
fn blocking_refusal_body(
    conn: &Conn,
    mut body: Vec<u8>,
    plan: BodyPlan,
    deadline: Deadline,
) -> Vec<u8> {
    let want = match plan {
        BodyPlan::None => 0,
        BodyPlan::AsBuffered => body.len(),
        BodyPlan::Length(n) => usize::try_from(n).unwrap_or(usize::MAX),
        BodyPlan::UntilClose => usize::MAX,
    }
    .min(MAX_REFUSAL_BODY);
    let deadline = deadline.min(Deadline::after_ms(REFUSAL_BODY_MS));
    while body.len() < want {
        match conn.blocking_read((want - body.len()).min(READ_CHUNK), deadline) {
            Ok(Some(bytes)) => body.extend_from_slice(&bytes),
            _ => break,
        }
    }
    body.truncate(want);
    body
}
