//! The client exchange: dial, send the upgrade request, read responses until a final one,
//! and hand over only on a validated switch. The order and the rules of the 0.2 component's
//! exchange, written as one async function.

use crate::error::Error;
use crate::io::{self, CHUNK, Conn, Deadline, within};
use crate::proto::client::{
    Ask, MAX_INFORMATIONAL, REFUSAL_BODY_MS, UpgradeRequest, Verdict, encode_request_with, judge,
    parse_response, refusal_body_len, websocket_fields,
};
use crate::proto::{HeadScanner, Limits, ProtoError, ResponseHead, parse_authority, websocket};
use alloc::{vec, vec::Vec};

/// How to dial, beyond the request itself.
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

/// A connection taken over, with the bytes read past the head.
pub struct Hijacked {
    /// The connection.
    pub conn: Conn,
    /// Bytes read past the head, in order.
    pub buffered: Vec<u8>,
}

/// Run the client exchange against `authority`. Every caller value is checked before any
/// I/O; whatever the error, the connection (if one was opened) is closed.
pub async fn dial(
    authority: &str,
    req: &UpgradeRequest<'_>,
    options: &DialOptions,
) -> Result<(ResponseHead, Hijacked), Error> {
    let websocket_accept;
    let owned = if !req.is_connect() && websocket::is_websocket(req.upgrade) {
        let key = websocket::key(io::nonce16());
        websocket_accept = Some(websocket::accept(key.as_bytes()));
        websocket_fields(&key).to_vec()
    } else {
        websocket_accept = None;
        Vec::new()
    };
    let request = encode_request_with(authority, req, &owned)?;
    let origin = parse_authority(authority)?;
    let ask = if req.is_connect() {
        Ask::Connect
    } else {
        Ask::Upgrade {
            protocol: req.upgrade,
            websocket_accept,
            allow_200: options.allow_200,
        }
    };

    let connect_deadline = Deadline::after_ms(options.connect_timeout_ms);
    let mut conn = within(connect_deadline, async {
        let addrs = match origin.ip() {
            Some(ip) => vec![io::ip_address(ip)],
            None => io::resolve(origin.host).await?,
        };
        io::connect(addrs, origin.port).await
    })
    .await?;
    if let Some(period_ms) = options.keepalive_ms {
        conn.set_keepalive(period_ms)?;
    }

    // The head deadline counts from before the request's first byte.
    let limits = options.limits;
    let head_deadline = Deadline::after_ms(limits.head_timeout_ms);
    within(head_deadline, conn.write_all(request)).await?;
    let mut buf = Vec::new();
    let mut informational = 0;
    loop {
        let end = within(head_deadline, read_head(&mut conn, &mut buf, &limits)).await?;
        let head = parse_response(&buf[..end], limits.max_headers)?;
        match judge(&head, &ask) {
            Verdict::Switched => {
                let buffered = buf.split_off(end);
                return Ok((head, Hijacked { conn, buffered }));
            }
            Verdict::Informational if informational < MAX_INFORMATIONAL => {
                buf.drain(..end);
                informational += 1;
            }
            Verdict::Informational => {
                return Err(ProtoError::Malformed("too many informational responses").into());
            }
            Verdict::InvalidSwitch => return Err(Error::InvalidSwitch(head)),
            Verdict::Refused(plan) => {
                let want = refusal_body_len(plan, buf.len() - end);
                let mut body = buf.split_off(end);
                // Best effort: what the framing says, until close, an error or the deadline.
                let deadline = head_deadline.min(Deadline::after_ms(REFUSAL_BODY_MS));
                let _ = within(deadline, async {
                    while body.len() < want {
                        let max = (want - body.len()).min(CHUNK);
                        if !conn.read_some(&mut body, max).await? {
                            break;
                        }
                    }
                    Ok(())
                })
                .await;
                body.truncate(want);
                return Err(Error::NotSwitched(head, body));
            }
        }
    }
}

/// Read until `buf` holds a complete head; its end. Bytes past it stay in `buf`; `buf` may
/// start with bytes (those that followed an interim response).
pub async fn read_head(
    conn: &mut Conn,
    buf: &mut Vec<u8>,
    limits: &Limits,
) -> Result<usize, Error> {
    let mut scanner = HeadScanner::new(limits.max_head_bytes);
    loop {
        if let Some(end) = scanner.scan(buf)? {
            return Ok(end);
        }
        let room = scanner.room(buf.len()).min(CHUNK);
        if !conn.read_some(buf, room).await? {
            return Err(if buf.is_empty() {
                Error::ClosedBeforeHead
            } else {
                Error::ClosedInsideHead
            });
        }
    }
}
