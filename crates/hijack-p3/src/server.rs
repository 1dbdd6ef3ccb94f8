//! The server exchange: accept connections, read their request heads concurrently, answer
//! bad ones, and give the caller complete ones to answer or take over. The rules of the 0.2
//! component's listener (`hijack_proto::server::decide`), over wasi:sockets 0.3.
//!
//! One future, the listener's reader, reads the listening socket's stream and every pending
//! head; complete heads wait in a queue for `accept`. The reader runs in the task of the
//! first `accept` (spawned there, it outlives that call's return) until the listener is
//! dropped, and `accept` only takes from the queue. Every stream read and timer of the
//! listener is thus started and waited on by one component-model task: a pending read
//! polled by another task moves its waitable out of the first task's waitable set, and
//! wasmtime 48-49 traps ("delivering non-present event") when that set had an event on its
//! way to the first task. The reader wakes a waiting `accept` across tasks (wit-bindgen's
//! `inter-task-wakeup`). If the first `accept` is cancelled before it returns, its reader
//! goes with it, the pending heads stay in the listener and the next `accept` starts a new
//! reader.

use crate::client::{Hijacked, read_head};
use crate::error::Error;
use crate::io::{self, Conn, Deadline, TcpSocket, within};
use crate::proto::server::{Decision, Offer, answer_for, decide, encode_response, parse_request};
use crate::proto::{Header, Limits, ProtoError, RequestHead};
use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::rc::Rc;
use alloc::{string::String, vec::Vec};
use core::cell::RefCell;
use core::future::{Future, poll_fn};
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
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
    state: Rc<RefCell<State>>,
}

struct State {
    limits: Limits,
    /// The stream of accepted sockets, while no read of it is in flight.
    sockets: Option<StreamReader<TcpSocket>>,
    /// The read in flight.
    next: Option<NextSocket>,
    /// The listening socket's stream ended: no connection will come.
    ended: bool,
    /// Heads being read.
    pending: Vec<PendingHead>,
    /// Complete heads, oldest first, waiting for an `accept`.
    ready: VecDeque<Incoming>,
    /// The reader's waker while one runs.
    reader: Option<Waker>,
    /// Whether a reader runs.
    reading: bool,
    /// The waiting `accept`'s waker.
    waiter: Option<Waker>,
    /// Whether an `accept` is waiting.
    busy: bool,
    /// The listener was dropped: the reader drops what it holds and ends.
    closed: bool,
}

impl Listener {
    /// Bind and listen on `addr`.
    pub fn bind(addr: IpSocketAddress, limits: Limits) -> Result<Self, Error> {
        let (socket, sockets) = io::listen(addr)?;
        Ok(Self {
            socket,
            state: Rc::new(RefCell::new(State {
                limits,
                sockets: Some(sockets),
                next: None,
                ended: false,
                pending: Vec::new(),
                ready: VecDeque::new(),
                reader: None,
                reading: false,
                waiter: None,
                busy: false,
                closed: false,
            })),
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
                let mut state = self.0.borrow_mut();
                state.busy = false;
                state.waiter = None;
            }
        }
        let _busy = Busy(&self.state);
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<Result<Incoming, Error>> {
        let mut state = self.state.borrow_mut();
        if let Some(incoming) = state.ready.pop_front() {
            // Room for one more head: a reader held back by the limit reads on.
            let reader = state.reader.take();
            drop(state);
            if let Some(reader) = reader {
                reader.wake();
            }
            return Poll::Ready(Ok(incoming));
        }
        if state.ended && state.pending.is_empty() {
            return Poll::Ready(Err(Error::Socket(io::ErrorCode::InvalidState)));
        }
        state.waiter = Some(cx.waker().clone());
        if !state.reading {
            state.reading = true;
            wit_bindgen::spawn_local(read(Rc::clone(&self.state)));
        }
        Poll::Pending
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let mut state = self.state.borrow_mut();
        state.closed = true;
        if state.reading {
            // The reader drops the reads it started, in its own task.
            let reader = state.reader.take();
            drop(state);
            if let Some(reader) = reader {
                reader.wake();
            }
        } else {
            state.close();
        }
    }
}

/// The listener's reader: accepts connections and reads their heads until the listener is
/// dropped or no connection can come.
async fn read(state: Rc<RefCell<State>>) {
    // Cleared however the reader ends: dropped with a cancelled task too, when the next
    // `accept` starts another.
    struct Reading(Rc<RefCell<State>>);
    impl Drop for Reading {
        fn drop(&mut self) {
            let mut state = self.0.borrow_mut();
            state.reading = false;
            state.reader = None;
        }
    }
    let reading = Reading(state);
    poll_fn(|cx| reading.0.borrow_mut().poll_read(cx)).await;
}

impl State {
    /// Accept and read heads; `Ready` when the reader is done.
    fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.closed {
            self.close();
            return Poll::Ready(());
        }
        let before = self.ready.len() + usize::from(self.ended);
        // New connections, while there is room for their heads.
        while self.pending.len() + self.ready.len() < self.limits.max_pending_heads {
            let mut next = match (self.next.take(), self.sockets.take()) {
                (Some(next), _) => next,
                (None, Some(mut sockets)) => Box::pin(async move {
                    let socket = sockets.next().await;
                    (sockets, socket)
                }),
                (None, None) => break,
            };
            match next.as_mut().poll(cx) {
                Poll::Ready((sockets, Some(socket))) => {
                    self.sockets = Some(sockets);
                    let head = read_request(Conn::new(socket), self.limits);
                    self.pending.push(Box::pin(head));
                }
                Poll::Ready((_, None)) => {
                    self.ended = true;
                    break;
                }
                Poll::Pending => {
                    self.next = Some(next);
                    break;
                }
            }
        }
        let mut i = 0;
        while i < self.pending.len() {
            match self.pending[i].as_mut().poll(cx) {
                Poll::Ready(Some(incoming)) => {
                    drop(self.pending.swap_remove(i));
                    self.ready.push_back(incoming);
                }
                Poll::Ready(None) => drop(self.pending.swap_remove(i)),
                Poll::Pending => i += 1,
            }
        }
        let done = self.ended && self.pending.is_empty();
        // A new head, or the end of the stream: the waiting accept has an answer.
        let changed = self.ready.len() + usize::from(self.ended) != before;
        if (changed || done)
            && let Some(waiter) = self.waiter.take()
        {
            waiter.wake();
        }
        if done {
            return Poll::Ready(());
        }
        self.reader = Some(cx.waker().clone());
        Poll::Pending
    }

    /// Drop the listening stream and every connection not yet accepted.
    fn close(&mut self) {
        self.next = None;
        self.sockets = None;
        self.pending.clear();
        self.ready.clear();
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
