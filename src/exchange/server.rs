//! The server exchange: a listener that reads many request heads at once and yields the
//! connections whose head is complete, and the answers to them (a response, or a switch and
//! the handoff).

use super::error::Error;
use super::handoff::Hijacked;
use super::read::READ_CHUNK;
use crate::net::{Conn, Deadline, IpSocketAddress, Listening, Received};
use crate::proto::server::{
    BAD_REQUEST, Decision, HEAD_TOO_LARGE, Offer, decide, encode_response, parse_request,
};
use crate::proto::{HeadScanner, Header, Limits, ProtoError, RequestHead};

/// Most bytes read and discarded while closing after a plain response.
const DISCARD_BYTES: usize = 64 * 1024;

/// A listener and the connections whose heads are still arriving.
pub struct Listener {
    listening: Listening,
    limits: Limits,
    pending: Vec<Pending>,
}

/// A connection whose head is being read.
struct Pending {
    conn: Conn,
    buf: Vec<u8>,
    scanner: HeadScanner,
    deadline: Deadline,
}

/// What one round of reads did to a pending connection.
enum Progress {
    Waiting,
    Complete(RequestHead, Offer, Vec<u8>),
    /// Refused before the application sees it: write this answer, then close.
    Refused(&'static [u8]),
    Gone,
}

impl Pending {
    /// Read what is there without waiting; a complete head is parsed and decided on
    /// ([`decide`]), a bad one refused.
    fn advance(&mut self, limits: &Limits) -> Progress {
        loop {
            match self.scanner.scan(&self.buf) {
                Ok(Some(end)) => {
                    let head = match parse_request(&self.buf[..end], limits.max_headers) {
                        Ok(head) => head,
                        Err(e) => return refuse(e),
                    };
                    return match decide(&head) {
                        Decision::Offer(offer) => {
                            Progress::Complete(head, offer, self.buf.split_off(end))
                        }
                        Decision::Reject(reject) => Progress::Refused(reject.answer()),
                    };
                }
                Ok(None) => {}
                Err(e) => return refuse(e),
            }
            let room = self.scanner.room(self.buf.len()).min(READ_CHUNK);
            match self.conn.try_read(room) {
                Ok(Received::Data(bytes)) => self.buf.extend_from_slice(&bytes),
                Ok(Received::Empty) if self.deadline.passed() => return Progress::Gone,
                Ok(Received::Empty) => return Progress::Waiting,
                Ok(Received::Closed) | Err(_) => return Progress::Gone,
            }
        }
    }
}

/// The answer to a head that could not be read: 431 over a limit, 400 otherwise.
fn refuse(e: ProtoError) -> Progress {
    Progress::Refused(match e {
        ProtoError::HeadTooLarge | ProtoError::TooManyHeaders => HEAD_TOO_LARGE,
        _ => BAD_REQUEST,
    })
}

impl Listener {
    /// Bind and listen on `addr`.
    pub fn blocking_bind(addr: IpSocketAddress, limits: Limits) -> Result<Self, Error> {
        Ok(Self {
            listening: Listening::blocking_bind(addr)?,
            limits,
            pending: Vec::new(),
        })
    }

    /// The bound address.
    pub fn local_address(&self) -> Result<IpSocketAddress, Error> {
        Ok(self.listening.local_address()?)
    }

    /// The next connection whose request head is complete. Heads arrive concurrently: a
    /// connection that stalls waits in `pending` while others complete.
    pub fn blocking_accept(&mut self) -> Result<Incoming, Error> {
        loop {
            // A transient accept failure (out of descriptors or buffers) is reported only if
            // no pending head completes this round; the caller backs off and calls again, and
            // the listener and every pending connection are kept.
            let mut transient = None;
            loop {
                match self.listening.try_accept() {
                    Ok(Some(conn)) => self.pending.push(Pending {
                        conn,
                        buf: Vec::new(),
                        scanner: HeadScanner::new(self.limits.max_head_bytes),
                        deadline: Deadline::after_ms(self.limits.head_timeout_ms),
                    }),
                    Ok(None) => break,
                    Err(e) if e.is_transient() => {
                        transient = Some(e);
                        break;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            let mut i = 0;
            while i < self.pending.len() {
                match self.pending[i].advance(&self.limits) {
                    Progress::Waiting => i += 1,
                    Progress::Gone => drop(self.pending.swap_remove(i)),
                    Progress::Refused(answer) => {
                        let conn = self.pending.swap_remove(i).conn;
                        conn.try_write(answer);
                        conn.close_after_answer(DISCARD_BYTES);
                    }
                    Progress::Complete(head, offer, buffered) => {
                        let conn = self.pending.swap_remove(i).conn;
                        return Ok(Incoming::new(conn, head, offer, buffered, &self.limits));
                    }
                }
            }
            if let Some(e) = transient {
                return Err(e.into());
            }
            let earliest = self.pending.iter().map(|p| p.deadline).min();
            self.listening
                .blocking_wait(self.pending.iter().map(|p| &p.conn), earliest);
        }
    }
}

/// A request whose head is complete, waiting for the caller's answer.
pub struct Incoming {
    conn: Option<Conn>,
    head: RequestHead,
    offer: Offer,
    buffered: Vec<u8>,
    remote: Option<IpSocketAddress>,
    write_timeout_ms: u64,
}

impl Incoming {
    fn new(
        conn: Conn,
        head: RequestHead,
        offer: Offer,
        buffered: Vec<u8>,
        limits: &Limits,
    ) -> Self {
        Self {
            remote: conn.remote_address().ok(),
            offer,
            conn: Some(conn),
            head,
            buffered,
            write_timeout_ms: limits.head_timeout_ms,
        }
    }

    /// The request head.
    pub fn head(&self) -> &RequestHead {
        &self.head
    }

    /// The protocols the request offers (empty for HTTP/1.0 or without `Connection: upgrade`).
    pub fn offered(&self) -> &[String] {
        &self.offer.protocols
    }

    /// The authority a `CONNECT` request asks a tunnel to.
    pub fn connect_target(&self) -> Option<&str> {
        self.offer.connect.as_deref()
    }

    /// The peer's address, if the runtime told it.
    pub fn remote(&self) -> Option<IpSocketAddress> {
        self.remote
    }

    fn take_conn(&mut self) -> Result<Conn, Error> {
        self.conn.take().ok_or_else(|| {
            ProtoError::InvalidInput("this request was already answered".into()).into()
        })
    }

    /// Answer with a final response and close. Input is checked before anything is sent.
    pub fn blocking_respond(
        &mut self,
        status: u16,
        reason: &str,
        headers: &[Header],
        body: &[u8],
    ) -> Result<(), Error> {
        let answer = encode_response(status, reason, headers, body)?;
        let conn = self.take_conn()?;
        conn.blocking_write_all(&answer, Deadline::after_ms(self.write_timeout_ms))?;
        conn.close_after_answer(DISCARD_BYTES);
        Ok(())
    }

    /// Answer `101` switching to `protocol` (after `100 Continue` if the client asked) and
    /// hand the connection over.
    pub fn blocking_hijack(
        &mut self,
        protocol: &str,
        headers: &[Header],
    ) -> Result<Hijacked, Error> {
        let answer = self.offer.switch(protocol, headers)?;
        self.blocking_hand_over(&answer)
    }

    /// Answer a `CONNECT` with `200 Connection Established` and hand the connection over.
    pub fn blocking_tunnel(&mut self, headers: &[Header]) -> Result<Hijacked, Error> {
        let answer = self.offer.tunnel(headers)?;
        self.blocking_hand_over(&answer)
    }

    fn blocking_hand_over(&mut self, answer: &[u8]) -> Result<Hijacked, Error> {
        let conn = self.take_conn()?;
        conn.blocking_write_all(answer, Deadline::after_ms(self.write_timeout_ms))?;
        Ok(Hijacked {
            conn,
            buffered: std::mem::take(&mut self.buffered),
        })
    }
}
