//! Accepting in an event loop: `try-accept` until `would-block`, the listener's pollables kept
//! for the next `poll`, and Go's back-off after a transient failure.

use crate::guest::default_listen_options;
use crate::server::{Incoming, Listener, Request};
use crate::types::Error;
use hijack_net::{to_core, to_wasi};
use hijack_proto::AcceptBackoff;
use std::net::SocketAddr;
use wasip2::clocks::monotonic_clock;
use wasip2::io::poll::Pollable;

/// A connection whose request head is complete: the handle to answer it with, and what the
/// component read of it.
pub struct Accepted {
    /// The connection, waiting for an answer.
    pub incoming: Incoming,
    /// Its request.
    pub request: Request,
}

/// A listener driven by an event loop. Field order is drop order: the pollables (children of
/// the listener's sockets and streams) go first.
pub struct Acceptor {
    waits: Vec<Pollable>,
    /// After a transient failure: the timer that ends the pause.
    pause: Option<Pollable>,
    backoff: AcceptBackoff,
    woke: bool,
    listener: Listener,
}

impl Acceptor {
    /// Bind and listen on `addr` with the default limits.
    pub fn bind(addr: SocketAddr) -> Result<Self, Error> {
        Ok(Self {
            waits: Vec::new(),
            pause: None,
            backoff: AcceptBackoff::default(),
            woke: true,
            listener: Listener::bind(to_wasi(addr), default_listen_options())?,
        })
    }

    /// The address the listener is bound to.
    pub fn local_address(&self) -> Result<SocketAddr, Error> {
        self.listener.local_address().map(to_core)
    }

    /// The pollables to wait on: the listener's, or the back-off timer during a pause.
    pub fn pollables(&self) -> impl Iterator<Item = &Pollable> {
        let pause = self.pause.as_ref();
        let waits = pause.is_none().then_some(&self.waits);
        pause.into_iter().chain(waits.into_iter().flatten())
    }

    /// One of [`Acceptor::pollables`] is ready.
    pub fn wake(&mut self) {
        self.woke = true;
    }

    /// If woken: every connection whose head is complete now, in order. A transient failure
    /// pauses accepting (logged once per burst, prefixed with `program`); any other failure
    /// of the listener is returned.
    pub fn accept(&mut self, program: &str) -> Result<Vec<Accepted>, Error> {
        let mut ready = Vec::new();
        if !self.woke {
            return Ok(ready);
        }
        self.woke = false;
        // The listener may close pending connections: its pollables go first.
        self.waits.clear();
        loop {
            match self.listener.try_accept() {
                Ok((incoming, request)) => ready.push(Accepted { incoming, request }),
                Err(Error::WouldBlock) => break,
                Err(Error::Transient(_)) => {
                    if !self.backoff.is_backing_off() {
                        eprintln!("{program}: out of descriptors or buffers; backing off");
                    }
                    let pause = self.backoff.fail().as_nanos();
                    let pause = u64::try_from(pause).unwrap_or(u64::MAX);
                    self.pause = Some(monotonic_clock::subscribe_duration(pause));
                    return Ok(ready);
                }
                Err(e) => return Err(e),
            }
        }
        self.pause = None;
        self.backoff.succeed();
        self.waits = self.listener.subscribe();
        Ok(ready)
    }
}
