//! The server exchange: accept connections, read their request heads concurrently, answer
//! bad ones, and give the caller complete ones to answer or take over. The rules of the 0.2
//! component's listener (`hijack_proto::server::decide`), over wasi:sockets 0.3.
//!
//! Each connection's head is read by a future of its own, kept in the listener between
//! `accept` calls: an `accept` polls the listening socket's stream (while fewer than
//! `max-pending-heads` heads are pending) and every pending head, and returns the first
//! complete one. Only one `accept` polls at a time: the wakers of a pending read belong to the
//! task that polled it last, so a second, concurrent `accept` would never be woken.

use crate::client::{Hijacked, read_head};
use crate::error::Error;
use crate::io::{self, Conn, Deadline, TcpSocket, within};
use crate::proto::server::{Decision, Offer, answer_for, decide, encode_response, parse_request};
use crate::proto::{Header, Limits, ProtoError, RequestHead};
use alloc::boxed::Box;
use alloc::{string::String, vec::Vec};
use core::cell::RefCell;
use core::future::{Future, poll_fn};
use core::pin::Pin;
use core::task::{Context, Poll};
use wit_bindgen::StreamReader;

use crate::component::bindings::wasi::sockets::types::IpSocketAddress;

/// Most bytes read and dropped after an answer that closes the connection.
const DISCARD_BYTES: usize = 64 * 1024;

/// Longest wait for those bytes.
const DISCARD_MS: u64 = 2_000;

/// A future that yields the next accepted socket, with the stream it read it from.
type NextSocket = Pin<Box<dyn Future<Output = (StreamReader<TcpSocket>, Option<TcpSocket>)>>>;

/// A future that reads one connection's head: the connection, or `None` when it was answered
/// (a bad head), failed, or missed its deadline (it is closed then).
type PendingHead = Pin<Box<dyn Future<Output = Option<Incoming>>>>;

/// A listening socket and the connections whose heads are being read.
pub struct Listener {
    socket: TcpSocket,
    limits: Limits,
    state: RefCell<State>,
}

struct State {
    /// The stream of accepted sockets, while no read of it is in flight.
    sockets: Option<StreamReader<TcpSocket>>,
    /// The read in flight.
    next: Option<NextSocket>,
    /// Heads being read.
    pending: Vec<PendingHead>,
    /// Whether an `accept` is polling.
    busy: bool,
}

impl Listener {
    /// Bind and listen on `addr`.
    pub fn bind(addr: IpSocketAddress, limits: Limits) -> Result<Self, Error> {
        let (socket, sockets) = io::listen(addr)?;
        Ok(Self {
            socket,
            limits,
            state: RefCell::new(State {
                sockets: Some(sockets),
                next: None,
                pending: Vec::new(),
                busy: false,
            }),
        })
    }

    /// The address the listener is bound to.
    pub fn local_address(&self) -> Result<IpSocketAddress, Error> {
        self.socket.get_local_address().map_err(Error::Socket)
    }

    /// Wait for the next connection whose head is complete.
    pub async fn accept(&self) -> Result<Incoming, Error> {
        {
            let mut state = self.state.borrow_mut();
            if state.busy {
                let e = "another accept is already waiting on this listener";
                return Err(ProtoError::InvalidInput(e.into()).into());
            }
            state.busy = true;
        }
        // Cleared however the call ends, cancellation included.
        struct Busy<'a>(&'a RefCell<State>);
        impl Drop for Busy<'_> {
            fn drop(&mut self) {
                self.0.borrow_mut().busy = false;
            }
        }
        let _busy = Busy(&self.state);
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<Result<Incoming, Error>> {
        let mut state = self.state.borrow_mut();
        let state = &mut *state;
        // New connections, while there is room for their heads.
        while state.pending.len() < self.limits.max_pending_heads {
            let mut next = match (state.next.take(), state.sockets.take()) {
                (Some(next), _) => next,
                (None, Some(mut sockets)) => Box::pin(async move {
                    let socket = sockets.next().await;
                    (sockets, socket)
                }),
                // The listening socket's stream ended: no connection will come.
                (None, None) => break,
            };
            match next.as_mut().poll(cx) {
                Poll::Ready((sockets, Some(socket))) => {
                    state.sockets = Some(sockets);
                    state
                        .pending
                        .push(Box::pin(read_request(Conn::new(socket), self.limits)));
                }
                Poll::Ready((_, None)) => {
                    if state.pending.is_empty() {
                        let e = io::ErrorCode::InvalidState;
                        return Poll::Ready(Err(Error::Socket(e)));
                    }
                    break;
                }
                Poll::Pending => {
                    state.next = Some(next);
                    break;
                }
            }
        }
        let mut i = 0;
        while i < state.pending.len() {
            match state.pending[i].as_mut().poll(cx) {
                Poll::Ready(Some(incoming)) => {
                    drop(state.pending.swap_remove(i));
                    return Poll::Ready(Ok(incoming));
                }
                Poll::Ready(None) => drop(state.pending.swap_remove(i)),
                Poll::Pending => i += 1,
            }
        }
        Poll::Pending
    }
}

/// Read one connection's head and decide on it: the connection when the caller must answer
/// it, `None` when the listener answered it or it is gone.
async fn read_request(mut conn: Conn, limits: Limits) -> Option<Incoming> {
    let deadline = Deadline::after_ms(limits.head_timeout_ms);
    let mut buf = Vec::new();
    let answer = match within(deadline, read_head(&mut conn, &mut buf, &limits)).await {
        Ok(end) => match parse_request(&buf[..end], limits.max_headers) {
            Ok(head) => match decide(&head) {
                Decision::Offer(offer) => {
                    let buffered = buf.split_off(end);
                    return Some(Incoming::new(conn, head, offer, buffered, &limits));
                }
                Decision::Reject(reject) => reject.answer(),
            },
            Err(e) => answer_for(&e),
        },
        Err(Error::Proto(e)) => answer_for(&e),
        // Closed, failed or too slow before the head was complete: closed unanswered.
        Err(_) => return None,
    };
    let written = within(deadline, conn.write_all(answer.to_vec())).await;
    if written.is_ok() {
        close(conn).await;
    }
    None
}

/// End a connection whose answer was sent.
async fn close(conn: Conn) {
    conn.close_after_answer(DISCARD_BYTES, Deadline::after_ms(DISCARD_MS))
        .await;
}

/// A connection whose request head has been read, waiting for the caller's decision.
pub struct Incoming {
    conn: Option<Conn>,
    head: RequestHead,
    offer: Offer,
    buffered: Vec<u8>,
    remote: Option<IpSocketAddress>,
    write_timeout_ms: u64,
}

/// An answer about to be written: what [`Incoming::answer`] takes out of the incoming.
pub struct Answer {
    conn: Conn,
    bytes: Vec<u8>,
    buffered: Vec<u8>,
    deadline: Deadline,
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
            remote: conn.remote_address(),
            conn: Some(conn),
            head,
            offer,
            buffered,
            write_timeout_ms: limits.head_timeout_ms,
        }
    }

    /// The request head.
    pub fn head(&self) -> &RequestHead {
        &self.head
    }

    /// The protocols offered in `Upgrade`.
    pub fn offered(&self) -> &[String] {
        &self.offer.protocols
    }

    /// A `CONNECT`'s target.
    pub fn connect_target(&self) -> Option<&str> {
        self.offer.connect.as_deref()
    }

    /// The peer's address at accept.
    pub fn remote(&self) -> Option<IpSocketAddress> {
        self.remote
    }

    /// The answer to a response: refused before anything is taken on bad input.
    pub fn respond(
        &mut self,
        status: u16,
        reason: &str,
        headers: &[Header],
        body: &[u8],
    ) -> Result<Answer, Error> {
        let bytes = encode_response(status, reason, headers, body)?;
        self.answer(bytes)
    }

    /// The answer to a switch to `protocol`.
    pub fn hijack(&mut self, protocol: &str, headers: &[Header]) -> Result<Answer, Error> {
        let bytes = self.offer.switch(protocol, headers)?;
        self.answer(bytes)
    }

    /// The answer to a `CONNECT`.
    pub fn tunnel(&mut self, headers: &[Header]) -> Result<Answer, Error> {
        let bytes = self.offer.tunnel(headers)?;
        self.answer(bytes)
    }

    /// Take the connection to answer it with `bytes`; the caller writes them, so no borrow
    /// of the incoming is held across the write.
    fn answer(&mut self, bytes: Vec<u8>) -> Result<Answer, Error> {
        let conn = self.conn.take().ok_or_else(|| {
            Error::from(ProtoError::InvalidInput(
                "this request was already answered".into(),
            ))
        })?;
        Ok(Answer {
            conn,
            bytes,
            buffered: core::mem::take(&mut self.buffered),
            deadline: Deadline::after_ms(self.write_timeout_ms),
        })
    }
}

impl Answer {
    /// Write a response that does not switch, then close the connection.
    pub async fn respond(self) -> Result<(), Error> {
        let Answer {
            mut conn,
            bytes,
            deadline,
            ..
        } = self;
        within(deadline, conn.write_all(bytes)).await?;
        close(conn).await;
        Ok(())
    }

    /// Write a switch (or a tunnel's `200`) and hand the connection over.
    pub async fn hand_over(self) -> Result<Hijacked, Error> {
        let Answer {
            mut conn,
            bytes,
            buffered,
            deadline,
        } = self;
        within(deadline, conn.write_all(bytes)).await?;
        Ok(Hijacked { conn, buffered })
    }
}
