//! The server exchange: a listener that reads many request heads at once and yields the
//! connections whose head is complete, and the answers to them (a response, or a switch and
//! the handoff).
//!
//! This module owns the order of things (accept, read, decide, answer) and when to poll what;
//! it does not parse HTTP (`proto` does) and keeps its pending connections and their
//! deadlines in [`Slots`] and [`Deadlines`], which know nothing of HTTP.

use super::deadlines::Deadlines;
use super::error::Error;
use super::handoff::Hijacked;
use super::read::READ_CHUNK;
use super::read::try_read_head;
use super::slots::Slots;
use crate::net::{Conn, Deadline, IpSocketAddress, Listening, Pollable, Watched, ready_now};
use crate::net::{NetError, Received, blocking_wait_any};
use crate::proto::body::{BodyReader, Framing};
use crate::proto::server::{
    CONTINUE, Decision, Offer, answer_for, decide, encode_response, parse_request,
};
use crate::proto::{HeadScanner, Header, Limits, ProtoError, RequestHead};
use alloc::collections::VecDeque;
use alloc::{string::String, vec, vec::Vec};

/// Most bytes read and discarded while closing after a plain response.
const DISCARD_BYTES: usize = 64 * 1024;

/// A listener and the connections whose heads are still arriving.
///
/// The cost of a wake is one `poll` over the set plus work for the connections it reports
/// ready (and the deadlines that passed), never a read of every pending connection: each
/// pending connection keeps its pollable across waits, ready ones wait in a queue, and
/// deadlines sit in a min-heap. At most `limits.max_pending_heads` heads are read at once;
/// beyond that, new connections wait in the kernel's backlog.
pub struct Listener {
    /// The connections whose heads are being read.
    pending: Slots<Pending>,
    /// Slots to read from before the next wait: new connections, and those `poll` woke.
    ready: VecDeque<usize>,
    /// Each pending connection's head deadline.
    deadlines: Deadlines,
    /// When the connections that are not hot are next polled.
    next_sweep: Deadline,
    limits: Limits,
    listening: Listening,
}

/// How long a connection stays hot after its accept or its last bytes: hot ones are in every
/// wait. Most clients send their head at once; the others are polled in sweeps.
const HOT_MS: u64 = 50;
/// How often the connections that are not hot are polled, waiting or not.
const SWEEP_MS: u64 = 20;

/// A connection whose head is being read.
struct Pending {
    watched: Watched,
    buf: Vec<u8>,
    scanner: HeadScanner,
    deadline: Deadline,
    /// Until when it is in every wait ([`HOT_MS`] after its accept or its last bytes).
    hot_until: Deadline,
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
        let before = self.buf.len();
        let read = try_read_head(self.watched.conn(), &mut self.buf, &mut self.scanner);
        if self.buf.len() > before {
            self.hot_until = Deadline::after_ms(HOT_MS);
        }
        let end = match read {
            Ok(Some(end)) => end,
            Ok(None) if self.deadline.passed() => return Progress::Gone,
            Ok(None) => return Progress::Waiting,
            Err(Error::Proto(e)) => return refuse(e),
            Err(_) => return Progress::Gone,
        };
        let head = match parse_request(&self.buf[..end], limits.max_headers) {
            Ok(head) => head,
            Err(e) => return refuse(e),
        };
        match decide(&head) {
            Decision::Offer(offer) => Progress::Complete(head, offer, self.buf.split_off(end)),
            Decision::Reject(reject) => Progress::Refused(reject.answer()),
        }
    }
}

/// The answer to a head that could not be read: 431 over a limit, 400 otherwise.
fn refuse(e: ProtoError) -> Progress {
    Progress::Refused(answer_for(&e))
}

impl Listener {
    /// Bind and listen on `addr`.
    pub fn blocking_bind(addr: IpSocketAddress, limits: Limits) -> Result<Self, Error> {
        Ok(Self {
            pending: Slots::new(),
            ready: VecDeque::new(),
            deadlines: Deadlines::new(),
            next_sweep: Deadline::after_ms(0),
            limits,
            listening: Listening::blocking_bind(addr)?,
        })
    }

    /// The bound address.
    pub fn local_address(&self) -> Result<IpSocketAddress, Error> {
        Ok(self.listening.local_address()?)
    }

    /// The next connection whose request head is complete, waiting for one. Heads arrive
    /// concurrently: a connection that stalls waits in `pending` while others complete.
    pub fn blocking_accept(&mut self) -> Result<Incoming, Error> {
        loop {
            if let Some(incoming) = self.round()? {
                return Ok(incoming);
            }
            self.wait(self.has_room(), self.deadlines.earliest());
        }
    }

    /// The next connection whose request head is complete, if one is now; never waits.
    pub fn try_accept(&mut self) -> Result<Option<Incoming>, Error> {
        if let Some(incoming) = self.round()? {
            return Ok(Some(incoming));
        }
        // Learn which pending connections woke, without waiting: one poll over the set with a
        // deadline already passed reports every pollable that is ready.
        self.wait(false, Some(Deadline::after_ms(0)));
        self.round()
    }

    /// Fresh pollables, ready when [`Listener::try_accept`] may make progress: the backlog's
    /// (while there is room), the earliest deadline's and every pending connection's — or one
    /// that is ready at once when connections are queued as ready. The caller drops them
    /// before the next call that may close a pending connection.
    pub fn subscribe(&self) -> Vec<Pollable> {
        if !self.ready.is_empty() {
            return vec![ready_now()];
        }
        let mut set = Vec::with_capacity(self.pending.len() + 2);
        if self.has_room() {
            set.push(self.listening.subscribe());
        }
        if let Some(deadline) = self.deadlines.earliest() {
            set.push(deadline.subscribe());
        }
        set.extend(
            self.pending
                .iter()
                .map(|(_, p)| p.watched.conn().readable()),
        );
        set
    }

    /// One round without waiting: take connections from the backlog, read from those queued
    /// as ready, close those past their deadline. `None`: no head is complete.
    ///
    /// A transient accept failure (out of descriptors or buffers) is reported only if no
    /// pending head completes this round; the caller backs off and calls again, and the
    /// listener and every pending connection are kept.
    fn round(&mut self) -> Result<Option<Incoming>, Error> {
        let transient = self.accept_backlog()?;
        if let Some(incoming) = self.advance_ready() {
            return Ok(Some(incoming));
        }
        self.expire();
        let Some(e) = transient else {
            return Ok(None);
        };
        // Out of descriptors: without waiting, look for pending connections that closed or
        // completed (closing them frees descriptors) before reporting.
        self.wait(false, Some(Deadline::after_ms(0)));
        match self.advance_ready() {
            Some(incoming) => Ok(Some(incoming)),
            None => Err(e.into()),
        }
    }

    fn has_room(&self) -> bool {
        self.pending.len() < self.limits.max_pending_heads
    }

    /// Read from the connections queued as ready; the first complete head is the answer.
    fn advance_ready(&mut self) -> Option<Incoming> {
        while let Some(slot) = self.ready.pop_front() {
            let Some(pending) = self.pending.get_mut(slot) else {
                continue;
            };
            match pending.advance(&self.limits) {
                Progress::Waiting => {}
                Progress::Gone => drop(self.pending.remove(slot)),
                Progress::Refused(answer) => {
                    let conn = self.pending.remove(slot).watched.into_conn();
                    conn.try_write(answer);
                    conn.close_after_answer(DISCARD_BYTES);
                }
                Progress::Complete(head, offer, buffered) => {
                    let conn = self.pending.remove(slot).watched.into_conn();
                    return Some(Incoming::new(conn, head, offer, buffered, &self.limits));
                }
            }
        }
        None
    }

    /// Take connections from the backlog while there is room for their heads.
    fn accept_backlog(&mut self) -> Result<Option<crate::net::NetError>, Error> {
        while self.has_room() {
            match self.listening.try_accept() {
                Ok(Some(conn)) => {
                    let slot = self.insert(conn);
                    // Bytes may already be there: read before waiting.
                    self.ready.push_back(slot);
                }
                Ok(None) => break,
                Err(e) if e.is_transient() => return Ok(Some(e)),
                Err(e) => return Err(e.into()),
            }
        }
        Ok(None)
    }

    /// Close every pending connection whose head deadline has passed, unanswered.
    fn expire(&mut self) {
        let pending = &mut self.pending;
        while let Some(key) = self.deadlines.pop_passed(|key| pending.contains(key)) {
            drop(pending.remove(key.slot));
        }
    }

    /// Wait for the backlog (if `listener`), the pending connections and `deadline`; queue
    /// the connections that woke.
    ///
    /// A wait costs one `poll` over what it watches, so it watches only the hot connections
    /// (recently accepted or recently sent bytes) and, once every [`SWEEP_MS`], all of them: a
    /// crowd of idle or dribbling clients costs a sweep per interval, not a poll over all of
    /// them at every accept. A connection that is not hot is read at most [`SWEEP_MS`] late.
    fn wait(&mut self, listener: bool, deadline: Option<Deadline>) {
        let now = Deadline::after_ms(0);
        let sweep = self.next_sweep <= now;
        let mut slots = Vec::with_capacity(self.pending.len());
        let mut watched = Vec::with_capacity(self.pending.len());
        let mut cold = false;
        for (slot, p) in self.pending.iter() {
            if sweep || p.hot_until > now {
                slots.push(slot);
                watched.push(&p.watched);
            } else {
                cold = true;
            }
        }
        let deadline = match (cold, deadline) {
            (false, d) => d,
            (true, Some(d)) => Some(d.min(self.next_sweep)),
            (true, None) => Some(self.next_sweep),
        };
        let woken = self.listening.blocking_wait(listener, &watched, deadline);
        self.ready.extend(woken.into_iter().map(|i| slots[i]));
        if sweep {
            self.next_sweep = Deadline::after_ms(SWEEP_MS);
        }
    }

    /// Start reading `conn`'s head, under its deadline; its slot.
    fn insert(&mut self, conn: Conn) -> usize {
        let deadline = Deadline::after_ms(self.limits.head_timeout_ms);
        let key = self.pending.insert(Pending {
            watched: Watched::new(conn),
            buf: Vec::new(),
            scanner: HeadScanner::new(self.limits.max_head_bytes),
            deadline,
            hot_until: Deadline::after_ms(HOT_MS),
        });
        self.deadlines.push(deadline, key);
        key.slot
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
    /// Where the body stands: unread, read, or failed (then the request can only be
    /// answered, never switched: the connection is somewhere inside the body).
    body: BodyState,
}

/// Whether the request's body was read before the answer.
#[derive(Clone, Copy, PartialEq, Eq)]
enum BodyState {
    Unread,
    Read,
    Failed,
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
            body: BodyState::Unread,
        }
    }

    /// Read the request's body, at most `max` bytes, before the answer; `buffered` then
    /// starts after it. Waits at most the head timeout from the call.
    pub fn blocking_read_body(&mut self, max: u64) -> Result<Vec<u8>, Error> {
        if self.body != BodyState::Unread {
            return Err(
                ProtoError::InvalidInput("the request's body was already read".into()).into(),
            );
        }
        let conn = self.conn.as_ref().ok_or_else(already_answered)?;
        let framing = Framing::of(&self.head);
        if framing != Framing::None && self.offer.expect_continue {
            // The client waits for this before it sends the body; a switch then needs no
            // second one.
            conn.blocking_write_all(CONTINUE, Deadline::after_ms(self.write_timeout_ms))?;
            self.offer.expect_continue = false;
        }
        self.body = BodyState::Failed;
        let mut reader = BodyReader::new(framing, max);
        let mut body = Vec::new();
        let used = reader.feed(&self.buffered, &mut body)?;
        self.buffered.drain(..used);
        let deadline = Deadline::after_ms(self.write_timeout_ms);
        while !reader.is_done() {
            match conn.try_read(READ_CHUNK)? {
                Received::Data(bytes) => {
                    let used = reader.feed(&bytes, &mut body)?;
                    self.buffered.extend_from_slice(&bytes[used..]);
                }
                Received::Empty if deadline.passed() => return Err(NetError::Timeout.into()),
                Received::Empty => blocking_wait_any(&[conn.readable(), deadline.subscribe()]),
                Received::Closed => {
                    let e = "the client closed the connection inside the body";
                    return Err(ProtoError::MalformedBody(e).into());
                }
            }
        }
        self.body = BodyState::Read;
        Ok(body)
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
        self.conn.take().ok_or_else(already_answered)
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
        if self.body == BodyState::Failed {
            let e = "the request's body could not be read: answer it with respond";
            return Err(ProtoError::InvalidInput(e.into()).into());
        }
        let conn = self.take_conn()?;
        conn.blocking_write_all(answer, Deadline::after_ms(self.write_timeout_ms))?;
        Ok(Hijacked {
            conn,
            buffered: core::mem::take(&mut self.buffered),
        })
    }
}

fn already_answered() -> Error {
    ProtoError::InvalidInput("this request was already answered".into()).into()
}
